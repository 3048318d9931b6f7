# R101 version of the 1x LVIS baseline. Reference recipe: mmdet 3.3 configs/lvis/
# mask-rcnn_r101_fpn_sample1e-3_ms-1x_lvis-v1.py (target 24.6 box AP / 23.6 mask AP);
# deliberate difference: the normalised mask conv of the R50 base (docs/RECIPES.md).
_base_ = './softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'
model = dict(backbone=dict(
    depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
