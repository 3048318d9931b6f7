# Hybrid-PSC: prototype contrastive loss (C+1 prototypes), mixed with CE by alpha = 1 - (t/T)^2.
_base_ = './softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='ContrastiveBBoxHead', mode='psc', tau=0.1, iou_thr=0.7, contrast_weight=0.5)))
custom_hooks = [dict(type='NumClassCheckHook'), dict(type='CumulativeAlphaHook')]
