# DA-Faster + ICR + CCR (CR-DA, CVPR 2020), VGG16, Cityscapes -> Foggy Cityscapes (lambda = 1).
# Reference: megvii-research/CR-DA-DET DA_Faster_ICR_CCR/train_cityscape.sh (da_trainval_net.py,
# cfgs/vgg16.yml); target number: Foggy val mAP50 of the CR-DA paper's DA-Faster+ICR+CCR row
# (docs/RECIPES.md). Recipe: _base_/faster-rcnn_vgg16_c5.py (caffe VGG16, dropout box head),
# _base_/schedule_da_120k.py; DA-Faster trainer only: gradient clipping at total norm 10 for
# VGG16 (clip_gradient(fasterRCNN, 10.0)). Remaining deliberate differences: docs/RECIPES.md.
# The da-faster config plus ICR and CCR.
_base_ = './da-faster_faster-rcnn_vgg16_c5_120k_cityscapes-to-foggy.py'
model = dict(icr={{_base_.icr}}, ccr=dict(lam=1.0))
