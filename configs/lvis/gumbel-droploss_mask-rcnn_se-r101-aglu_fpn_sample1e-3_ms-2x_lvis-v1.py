# R101 version of AGLU-APA-GOL (reference 30.7 AP / 23.6 APr).
_base_ = './gumbel-droploss_mask-rcnn_se-r50-aglu_fpn_sample1e-3_ms-2x_lvis-v1.py'
model = dict(backbone=dict(
    depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
