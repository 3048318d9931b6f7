# DA-Faster + ICR + CCR, VGG16, Sim10k -> Cityscapes (car AP50). Data layout in
# configs/_base_/datasets/sim10k_to_cityscapes_da.py.
# Reference: megvii-research/CR-DA-DET DA_Faster_ICR_CCR/da_trainval_net.py, dataset "sim10k":
# the VGG16 Cityscapes recipe (caffe VGG16, 120k, clip 10) with short side 800 / max 1600 for
# training and test (its set_cfgs TRAIN/TEST.SCALES (800,), MAX_SIZE 1600; the scales live in the
# dataset base). Differences: docs/RECIPES.md.
_base_ = [
    './_base_/faster-rcnn_vgg16_c5.py',
    '../_base_/datasets/sim10k_to_cityscapes_da.py',
    './_base_/schedule_da_120k.py',
    './_base_/da_modules_vgg16.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
optim_wrapper = dict(clip_grad=dict(max_norm=10.0, norm_type=2))
model = dict(type='DAFasterRCNN', roi_head=dict(bbox_head=dict(num_classes=1)),
             img_da={{_base_.img_da}}, ins_da={{_base_.ins_da}},
             consistency=dict(loss_weight=0.1),
             icr=dict(type='ImageCategoryClassifier', in_channels=512, num_classes=1,
                      feats='backbone.1'),
             ccr=dict(lam=1.0))
