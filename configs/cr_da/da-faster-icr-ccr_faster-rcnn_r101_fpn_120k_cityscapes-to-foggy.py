# ResNet-101 FPN variant of the R50 FPN config below (ImageNet torchvision ResNet-101 weights);
# no reference recipe, see the R50 config.
_base_ = './da-faster-icr-ccr_faster-rcnn_r50_fpn_120k_cityscapes-to-foggy.py'
model = dict(backbone=dict(
    depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
