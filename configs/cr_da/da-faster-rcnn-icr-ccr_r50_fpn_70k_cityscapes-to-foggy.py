# DA-Faster + ICR + CCR on ResNet-50 FPN, Cityscapes -> Foggy (ImageNet R50, 8 classes).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/cityscapes_to_foggy_da.py',
    './_base_/schedule_da_70k.py',
    './_base_/da_modules_r50_fpn.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
optim_wrapper = dict(optimizer=dict(lr=2.5e-3, weight_decay=1e-4))
model = dict(type='DAFasterRCNN', roi_head=dict(bbox_head=dict(num_classes=8)),
             img_da={{_base_.img_da}}, ins_da={{_base_.ins_da}},
             consistency=dict(loss_weight=0.1), icr={{_base_.icr}}, ccr=dict(lam=1.0))
