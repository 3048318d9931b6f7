# Ablation of hce-gated: the zero-gated early fusion only (no late fusion).
_base_ = './hce-gated_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(late_fusion=None))
