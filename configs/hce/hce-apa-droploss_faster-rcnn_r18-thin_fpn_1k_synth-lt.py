# Synth-LT twin of hce-apa_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py: the apa-droploss proxy
# (learnable APA classifier + DropLoss) with only the RoI head switched to HCE, with the settings
# of configs/hce/hce-late-conv-gs0p1_faster-rcnn_r18-thin_fpn_1k_synth-context.py (resolved:
# num_convs=1, input_grad_scale=0.1, GridRoIAlign x_instance, early_fusion=None, trained logit-sum
# late fusion; the candidate of the seed-0 probes in docs/RESULTS.md, hce_1200_gs). Ladder row
# 'hce-apa-droploss' of tools/analysis/ladders.py (long_tail).
_base_ = '../lvis/apa-droploss_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(
    type='HCERoIHead',
    context_embedding=dict(in_levels=[1], num_convs=1, input_grad_scale=0.1),
    context_roi=dict(early_fusion=None, gate=None, use_global=True,
                     roi_layer=dict(type='GridRoIAlign', output_size=7, sampling_ratio=1)),
    late_fusion=dict(fusion='logit_sum', test_branch='both')))
