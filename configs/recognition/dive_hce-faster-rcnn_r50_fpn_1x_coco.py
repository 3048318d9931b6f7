# DiVE distillation from a frozen teacher RoI head (a trained softmax model of the same classes)
# on the HCE Faster R-CNN R50-FPN 1x COCO config (configs/hce/); only the bbox head changes.
_base_ = '../hce/faster-rcnn_r50_fpn_hce_1x_coco.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(roi_head=dict(bbox_head=dict(
    type='DiVEBBoxHead',
    class_counts_file='data/coco/annotations/instances_train2017.json',
    tau=3.0, power=0.5, alpha=0.5,
    teacher=dict(
        checkpoint='work_dirs/faster-rcnn_r50_fpn_hce_1x_coco/epoch_12.pth',
        prefix='roi_head.bbox_head.'))))
