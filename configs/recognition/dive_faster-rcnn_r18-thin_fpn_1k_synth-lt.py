# DiVE distillation from a frozen teacher RoI head (tau=3, p=0.5, alpha=0.5) + balanced softmax.
# The teacher is the softmax baseline's checkpoint: train it first (see
# tools/analysis/recognition_proxy.py, which also points the teacher at it).
_base_ = './softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
teacher_ckpt = 'work_dirs/softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt/iter_1000.pth'
model = dict(roi_head=dict(bbox_head=dict(
    type='DiVEBBoxHead', class_counts_file={{_base_.lt_counts_file}},
    teacher=dict(checkpoint=teacher_ckpt, prefix='roi_head.bbox_head.'),
    tau=3.0, power=0.5, alpha=0.5)))
