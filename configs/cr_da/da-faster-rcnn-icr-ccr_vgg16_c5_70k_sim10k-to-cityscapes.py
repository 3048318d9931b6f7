# DA-Faster + ICR + CCR, VGG16, Sim10k -> Cityscapes (car AP50). Data layout in
# configs/_base_/datasets/sim10k_to_cityscapes_da.py.
_base_ = [
    './_base_/faster-rcnn_vgg16_c5.py',
    '../_base_/datasets/sim10k_to_cityscapes_da.py',
    './_base_/schedule_da_70k.py',
    './_base_/da_modules_vgg16.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(type='DAFasterRCNN', roi_head=dict(bbox_head=dict(num_classes=1)),
             img_da={{_base_.img_da}}, ins_da={{_base_.ins_da}},
             consistency=dict(loss_weight=0.1), icr=dict(type='ImageCategoryClassifier', in_channels=512, num_classes=1, feats='backbone.1'),
             ccr=dict(lam=1.0))
