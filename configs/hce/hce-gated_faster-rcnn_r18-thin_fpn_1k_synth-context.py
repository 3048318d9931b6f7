# HCE that starts exactly as the vanilla detector: early 'sum' fusion through a zero-initialised
# per-channel gate, and trained late fusion (box-head CE on s_det + s_ctx, context fc_cls = 0).
_base_ = '../demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(context_roi=dict(early_fusion='sum', gate='zero'),
                           late_fusion=dict(fusion='logit_sum')))
