# mmdet's default runtime with iteration-based logging and checkpointing, for the synth configs
# (use instead of 'mmdet::_base_/default_runtime.py' together with schedules/synth_iter.py).
_base_ = 'mmdet::_base_/default_runtime.py'
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=1,
                    save_last=True))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
