# Hybrid-SC supervised contrastive RoI loss (FSCE-style IoU>=0.8, weight 0.5)
# on the LVIS v1 Mask R-CNN R50-FPN baseline (configs/lvis/, RFS 1e-3, 1x, LVIS metric);
# only the bbox head changes.
_base_ = '../lvis/softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(roi_head=dict(bbox_head=dict(
    type='ContrastiveBBoxHead', mode='sc', tau=0.1, iou_thr=0.8, contrast_weight=0.5)))
custom_hooks = [dict(type='CumulativeAlphaHook', by_epoch=True)]
