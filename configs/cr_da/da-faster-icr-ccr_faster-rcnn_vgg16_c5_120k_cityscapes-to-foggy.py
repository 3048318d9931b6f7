# DA-Faster + ICR + CCR (CR-DA, CVPR 2020), VGG16, Cityscapes -> Foggy Cityscapes (lambda = 1).
# Reference: megvii-research/CR-DA-DET DA_Faster_ICR_CCR/train_cityscape.sh (da_trainval_net.py,
# cfgs/vgg16.yml); target number: Foggy val mAP50 of the CR-DA paper's DA-Faster+ICR+CCR row
# (docs/RECIPES.md). Recipe: _base_/faster-rcnn_vgg16_c5.py (caffe VGG16, dropout box head),
# _base_/schedule_da_120k.py; DA-Faster trainer only: gradient clipping at total norm 10 for
# VGG16 (clip_gradient(fasterRCNN, 10.0)). Remaining deliberate differences: docs/RECIPES.md.
_base_ = [
    './_base_/faster-rcnn_vgg16_c5.py',
    '../_base_/datasets/cityscapes_to_foggy_da.py',
    './_base_/schedule_da_120k.py',
    './_base_/da_modules_vgg16.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
optim_wrapper = dict(clip_grad=dict(max_norm=10.0, norm_type=2))
model = dict(type='DAFasterRCNN', img_da={{_base_.img_da}}, ins_da={{_base_.ins_da}},
             consistency=dict(loss_weight=0.1), icr={{_base_.icr}}, ccr=dict(lam=1.0))
