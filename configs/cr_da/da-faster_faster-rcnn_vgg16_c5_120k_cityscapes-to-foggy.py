# DA-Faster (image + instance discriminators + consistency), VGG16, Cityscapes -> Foggy.
# Reference: the CR-DA-DET DA-Faster trainer (DA_Faster_ICR_CCR/da_trainval_net.py) without
# ICR/CCR; same recipe as da-faster-icr-ccr_faster-rcnn_vgg16_c5_120k_cityscapes-to-foggy.py
# (caffe VGG16, 120k, clip 10). Differences: docs/RECIPES.md.
_base_ = [
    './_base_/faster-rcnn_vgg16_c5.py',
    '../_base_/datasets/cityscapes_to_foggy_da.py',
    './_base_/schedule_da_120k.py',
    './_base_/da_modules_vgg16.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
optim_wrapper = dict(clip_grad=dict(max_norm=10.0, norm_type=2))
model = dict(type='DAFasterRCNN', img_da={{_base_.img_da}}, ins_da={{_base_.ins_da}},
             consistency=dict(loss_weight=0.1))
