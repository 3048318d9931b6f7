# HCE + learnable APA classifier + DropLoss on LVIS v1 (Mask R-CNN R50-FPN, RFS 1e-3, 2x ms):
# the apa-droploss recipe with only the RoI head switched to HCE. HCE settings = the synth
# late-conv-gs0.1 candidate (configs/hce/hce-late-conv-gs0p1_*, resolved): one 3x3 conv before
# the class maps reading P3 with a tenth of HCE's gradient, GridRoIAlign x_instance, no early
# fusion, trained logit-sum late fusion (the APA head's DropLoss on s_det + s_ctx; the context
# classifier has a copy of that loss, its own APA). Not run: no LVIS here (docs/RECIPES.md).
_base_ = '../lvis/apa-droploss_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py'
model = dict(roi_head=dict(
    type='HCERoIHead',
    context_embedding=dict(in_levels=[1], num_convs=1, input_grad_scale=0.1),
    context_roi=dict(early_fusion=None, gate=None, use_global=True,
                     roi_layer=dict(type='GridRoIAlign', output_size=7, sampling_ratio=1)),
    late_fusion=dict(fusion='logit_sum', test_branch='both')))
