# AGLU-APA-GOL (ECCV 2024 APA paper, LVIS v1 reference 29.2 AP / 21.8 APr with their SE-R50 AGLU
# ImageNet weights): SE-ResNet-50 with AGLU activations and APA-gated SE + GOL head (Gumbel +
# DropLoss). ImageNet init here is torchvision's ResNet-50 (SE/AGLU parameters stay at their init);
# point init_cfg.checkpoint at an SE-R50-AGLU checkpoint if you have one.
_base_ = './gumbel-droploss_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py'
model = dict(backbone=dict(type='SEResNetAGLU'))
