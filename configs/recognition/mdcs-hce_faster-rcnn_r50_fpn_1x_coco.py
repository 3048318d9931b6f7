# MDCS: 3 logit-adjusted experts (q = -0.5, 1, 2.5) + consistency self-distillation
# on the HCE Faster R-CNN R50-FPN 1x COCO config (configs/hce/); only the bbox head changes.
_base_ = '../hce/hce_faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(roi_head=dict(bbox_head=dict(
    type='MDCSBBoxHead',
    class_counts_file='data/coco/annotations/instances_train2017.json',
    q=(-0.5, 1.0, 2.5), cs_weight=0.6)))
custom_hooks = [dict(type='CumulativeAlphaHook', by_epoch=True)]
