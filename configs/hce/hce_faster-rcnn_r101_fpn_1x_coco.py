# HCE on Faster R-CNN R101-FPN 1x COCO: the R50 HCE config with mmdet's R101 backbone settings.
_base_ = './hce_faster-rcnn_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
