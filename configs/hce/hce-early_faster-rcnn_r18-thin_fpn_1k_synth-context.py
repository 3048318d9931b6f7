# HCE ablation on the built-in data: embedding loss + early (feature) fusion ('sum'),
# no late fusion.
_base_ = '../demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(context_roi=dict(early_fusion='sum'), late_fusion=None))
