# Reference DA schedule (CR-DA-DET, VGG16): SGD lr 1e-3, momentum 0.9, weight decay 5e-4,
# 70k iterations of 1 source + 1 target image, lr x0.1 at half. Includes mmdet's default runtime.
_base_ = 'mmdet::_base_/default_runtime.py'
max_iters = 70000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[max_iters // 2], gamma=0.1),
]
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10000,
                                     max_keep_ckpts=2))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=2)
