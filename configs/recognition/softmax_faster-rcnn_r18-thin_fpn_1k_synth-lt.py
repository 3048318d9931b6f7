# Plain softmax-CE baseline for the recognition components on the built-in long-tailed split
# (same model, data, schedule and seed as every configs/recognition/*_synth-lt.py variant).
_base_ = [
    '../_base_/models/faster-rcnn_r18-thin_fpn_synth.py',
    '../_base_/datasets/synth_lt.py',
    '../_base_/schedules/synth_iter.py',
    '../_base_/synth_runtime.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
custom_hooks = [dict(type='NumClassCheckHook')]
# class frequencies for the long-tail components (categories' instance_count)
lt_counts_file = 'data/hce_synth/annotations/lt_train.json'
# iteration-based logging/checkpoints (default_runtime, listed last, resets them to epochs)
log_processor = dict(by_epoch=False)
default_hooks = dict(checkpoint=dict(by_epoch=False))
