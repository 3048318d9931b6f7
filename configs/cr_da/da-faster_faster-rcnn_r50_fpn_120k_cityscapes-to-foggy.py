# DA-Faster on ResNet-50 FPN, Cityscapes -> Foggy.
# No reference recipe: CR-DA-DET has no FPN detector (its ResNet runs are R101-C4 on VOC ->
# Clipart/Watercolor). Deliberately not the VGG16 recipe: torchvision ResNet, FPN, mmdet's
# Faster R-CNN settings, lr 2.5e-3, weight decay 1e-4, mmdet's bias handling, 500-iteration
# linear warm-up; only the iteration schedule is the reference's (_base_/schedule_da_120k.py:
# 120k, x0.1 at 50k and 110k, checkpoints of 60k..120k evaluated).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/cityscapes_to_foggy_da.py',
    './_base_/schedule_da_120k.py',
    './_base_/da_modules_r50_fpn.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
optim_wrapper = dict(optimizer=dict(lr=2.5e-3, weight_decay=1e-4),
                     paramwise_cfg=dict(bias_lr_mult=1.0, bias_decay_mult=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=120000, milestones=[50000, 110000],
         gamma=0.1),
]
model = dict(type='DAFasterRCNN', roi_head=dict(bbox_head=dict(num_classes=8)),
             img_da={{_base_.img_da}}, ins_da={{_base_.ins_da}}, consistency=dict(loss_weight=0.1))
