# DiVE distillation from a frozen teacher RoI head (tau=3, p=0.5, alpha=0.5) + balanced softmax.
# The teacher is the softmax baseline's checkpoint: train it first. `compare.py recognition`
# does (tools/analysis/ladders.py: `dive` runs after `softmax` of the same seed and points
# `teacher.checkpoint` at that run's checkpoint); by hand, train the softmax config and set
# `teacher_ckpt` (or `--cfg-options model.roi_head.bbox_head.teacher.checkpoint=...`).
_base_ = './softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
teacher_ckpt = 'work_dirs/softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt/iter_1000.pth'
model = dict(roi_head=dict(bbox_head=dict(
    type='DiVEBBoxHead', class_counts_file={{_base_.lt_counts_file}},
    teacher=dict(checkpoint=teacher_ckpt, prefix='roi_head.bbox_head.'),
    tau=3.0, power=0.5, alpha=0.5)))
