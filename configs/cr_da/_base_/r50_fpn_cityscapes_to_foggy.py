# Everything but the model of the ResNet-50 FPN Cityscapes -> Foggy configs
# (da-faster[-icr-ccr] on Faster / Cascade R-CNN, sw-faster-icr-ccr; the R101 FPN configs inherit
# theirs): data, schedule, optimizer and the DA / CR components of da_modules_r50_fpn.py (a config
# reads them as `_base_.img_da`, `_base_.ins_da`, `_base_.icr`, ...). A config adds mmdet's model
# base (faster-rcnn_r50_fpn.py / cascade-rcnn_r50_fpn.py) and its `model`.
# No reference recipe: CR-DA-DET has no FPN detector (its ResNet runs are R101-C4 on VOC ->
# Clipart/Watercolor). Deliberately not the VGG16 recipe: torchvision ResNet, FPN, mmdet's
# Faster R-CNN settings, lr 2.5e-3, weight decay 1e-4, mmdet's bias handling, 500-iteration
# linear warm-up; only the iteration schedule is the reference's (schedule_da_120k.py:
# 120k, x0.1 at 50k and 110k, checkpoints of 60k..120k evaluated).
_base_ = [
    '../../_base_/datasets/cityscapes_to_foggy_da.py',
    './schedule_da_120k.py',
    './da_modules_r50_fpn.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
optim_wrapper = dict(optimizer=dict(lr=2.5e-3, weight_decay=1e-4),
                     paramwise_cfg=dict(bias_lr_mult=1.0, bias_decay_mult=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=120000, milestones=[50000, 110000],
         gamma=0.1),
]
