# Shared settings of the CR-DA proxy ladder on the built-in fog split (R18-thin FPN, 128 px,
# from scratch on CPU): every run sees 2 labelled images per step (DA runs: 2 source + 2 target),
# 500 iterations, same seed and schedule; evaluation on fog_target_val (VOC AP50 per class +
# COCO bbox). The discriminators are slimmed to the 64-ch / 256-d detector (image DA hidden 128,
# instance DA hidden 256; the reference's 512 / 1024 widths suit VGG16's 512-ch / 4096-d).
_base_ = [
    '../../_base_/models/faster-rcnn_r18-thin_fpn_synth.py',
    '../../_base_/datasets/synth_fog_da.py',
    '../../_base_/schedules/synth_iter.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
# Target proposals (DAFasterRCNN only; DA-Faster runs the RPN in test mode on the target): at
# most 150 per image, keeping the reference's ratio of target proposals to sampled source RoIs
# (300 : 256 per image in CR-DA-DET's VGG16 setting; this proxy samples 128 source RoIs). With
# test_cfg.rpn's 300 the target RoIs were 2.3x the source ones and DA-Faster's training step
# 1.46x plain Faster R-CNN's on the same 2+2 images (benchmark_overhead.py da --same-images).
model = dict(train_cfg=dict(target_proposal=dict(max_per_img=150)))
batch_size = 4
source_ratio = [1, 1]
train_dataloader = dict(batch_size=batch_size,
                        sampler=dict(batch_size=batch_size, source_ratio=source_ratio))
max_iters = 500
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[int(max_iters * 0.75), int(max_iters * 0.9)], gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=0.02))
# Runtime written out here (not via mmdet's default_runtime base, whose default_hooks /
# log_processor would clash with the synth schedule base).
default_scope = 'mmdet'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=25),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
# DA-Faster pieces for the R18-thin FPN (64-ch FPN levels, 256-d box head, C5 = 256 ch).
img_da = dict(type='ImageDomainDiscriminator', in_channels=64, feat_channels=128,
              feats=['neck.0', 'neck.1', 'neck.2', 'neck.3', 'neck.4'])
ins_da = dict(type='InstanceDomainDiscriminator', in_channels=256, feat_channels=256)
icr = dict(type='ImageCategoryClassifier', in_channels=256, num_classes=10, feats='backbone.3')
# SW-Faster code initialises its ICR conv with PyTorch's default (DA-Faster code: N(0, 0.01))
sw_icr = dict(icr, init_std=None)
local_da = dict(type='LocalDomainDiscriminator', in_channels=32, feats='backbone.0')
global_da = dict(type='GlobalDomainDiscriminator', in_channels=128, feats='backbone.2')
