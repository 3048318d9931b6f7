# As the 1x baseline, 24 epochs (LR steps at 16 and 22), mmdet's 2x schedule. No reference
# recipe of its own (mmdet has no LVIS v1 2x softmax config): the common base of the 2x
# long-tail configs (docs/RECIPES.md).
_base_ = './softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'
train_cfg = dict(max_epochs=24, val_interval=24)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=24, by_epoch=True, milestones=[16, 22], gamma=0.1),
]
