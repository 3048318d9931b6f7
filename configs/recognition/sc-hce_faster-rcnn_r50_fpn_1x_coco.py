# Hybrid-SC supervised contrastive RoI loss (FSCE-style IoU>=0.8, weight 0.5)
# on the HCE Faster R-CNN R50-FPN 1x COCO config (configs/hce/); only the bbox head changes.
_base_ = '../hce/hce_faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(roi_head=dict(bbox_head=dict(
    type='ContrastiveBBoxHead', mode='sc', tau=0.1, iou_thr=0.8, contrast_weight=0.5)))
custom_hooks = [dict(type='CumulativeAlphaHook', by_epoch=True)]
