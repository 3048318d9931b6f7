# HCE ablation on the built-in data: embedding loss + early ('sum') + late ('mean') fusion
# (the full method; same settings as configs/demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py).
_base_ = '../demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(context_roi=dict(early_fusion='sum'), late_fusion=dict(fusion='mean')))
