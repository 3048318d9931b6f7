# HCE ablation on the built-in data: embedding loss + late (confidence) fusion only.
_base_ = '../demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(context_roi=dict(early_fusion=None), late_fusion=dict(fusion='mean')))
