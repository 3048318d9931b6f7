# CR-DA reference schedule, shared by both reference trainers (megvii-research/CR-DA-DET
# DA_Faster_ICR_CCR/da_trainval_net.py, SW_Faster_ICR_CCR/da_train_net.py, run by
# train_cityscape.sh / train_clipart.sh with --max_epochs 12 and the remaining defaults):
# 1 source + 1 target image per step (--bs 1), iters_per_epoch = 10000 / bs, 12 epochs = 120k
# iterations; SGD lr 1e-3 (--lr), momentum 0.9; lr x0.1 at the start of every epoch with
# epoch % (lr_decay_step + 1) == 0, lr_decay_step 5 -> epochs 6 and 12 = iterations 50k and
# 110k; no warm-up; a checkpoint per epoch, those of epochs 6..12 evaluated (test_*.py
# start_epoch 6). Weight decay 5e-4, bias lr x2 and no weight decay on biases
# (lib/model/utils/config.py TRAIN.WEIGHT_DECAY, DOUBLE_BIAS, BIAS_DECAY; cfgs/vgg16.yml keeps
# them, cfgs/res101.yml sets 1e-4 and DOUBLE_BIAS False). Includes mmdet's default runtime.
# Batch: 1 + 1 images per GPU at this lr; see configs/cr_da/README.md for multi-GPU runs.
_base_ = 'mmdet::_base_/default_runtime.py'
iters_per_epoch = 10000
max_iters = 12 * iters_per_epoch
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_begin=6 * iters_per_epoch,
                 val_interval=iters_per_epoch)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[5 * iters_per_epoch, 11 * iters_per_epoch], gamma=0.1),
]
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4),
                     paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0))
# the checkpoints of epochs 6..12 (iterations 60k..120k) are kept and evaluated
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False,
                                     interval=iters_per_epoch, max_keep_ckpts=7))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=2)
