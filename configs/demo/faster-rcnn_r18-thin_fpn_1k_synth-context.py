# The main job's vanilla baseline: Faster R-CNN trained from scratch on the built-in data.
_base_ = [
    '../_base_/models/faster-rcnn_r18-thin_fpn_synth.py',
    '../_base_/datasets/synth_context.py',
    '../_base_/schedules/synth_iter.py',
    '../_base_/synth_runtime.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
custom_hooks = [dict(type='NumClassCheckHook')]
