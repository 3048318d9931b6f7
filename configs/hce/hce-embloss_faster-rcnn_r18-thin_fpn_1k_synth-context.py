# HCE ablation on the built-in data: image-level categorical embedding + its BCE loss only
# (no early, no late fusion; the context modules are unused at test time).
_base_ = '../demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(context_roi=dict(early_fusion=None), late_fusion=None))
