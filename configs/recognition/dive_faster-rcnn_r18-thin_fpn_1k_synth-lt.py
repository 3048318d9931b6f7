# DiVE: the student (this detector, trained from the same initial weights as every variant)
# distils from a frozen teacher detector trained first on the same split -- the softmax baseline
# -- with balanced-softmax CE (tau=3, p=0.5, alpha=0.5). The teacher runs its own backbone, neck
# and RoI head on the same images and scores the student's sampled RoIs
# (TeacherTwoStageDetector). `compare.py recognition` trains the teacher first
# (tools/analysis/ladders.py: `dive` runs after `softmax` of the same seed and points
# `model.teacher.checkpoint` at that run's checkpoint); by hand, train the softmax config and set
# `teacher_ckpt` (or `--cfg-options model.teacher.checkpoint=...`).
_base_ = './softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
teacher_ckpt = 'work_dirs/softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt/iter_1000.pth'
model = dict(
    type='TeacherTwoStageDetector',
    teacher=dict(checkpoint=teacher_ckpt),  # model=None: this config with a Shared2FCBBoxHead
    roi_head=dict(bbox_head=dict(
        type='DiVEBBoxHead', class_counts_file={{_base_.lt_counts_file}},
        tau=3.0, power=0.5, alpha=0.5)))
