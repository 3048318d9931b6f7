# Plain softmax-CE baseline for the recognition components on the built-in long-tailed split
# (same model, data, schedule and seed as every configs/recognition/*_synth-lt.py variant).
# LVIS test settings and metric, as the configs/lvis/*_synth-lt.py ladder: score_thr=1e-4 and up
# to 300 detections per image (so thresholding cannot hide rare classes), FasterLVISMetric with
# the r/c/f groups of lt_train.json.
_base_ = [
    '../_base_/models/faster-rcnn_r18-thin_fpn_synth.py',
    '../_base_/datasets/synth_lt_lvis.py',
    '../_base_/schedules/synth_iter.py',
    '../_base_/synth_runtime.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
custom_hooks = [dict(type='NumClassCheckHook')]
model = dict(test_cfg=dict(rcnn=dict(score_thr=0.0001, max_per_img=300)))
# class frequencies for the long-tail components (categories' instance_count)
lt_counts_file = 'data/hce_synth/annotations/lt_train.json'
# iteration-based logging/checkpoints (default_runtime, listed last, resets them to epochs)
log_processor = dict(by_epoch=False)
default_hooks = dict(checkpoint=dict(by_epoch=False))
