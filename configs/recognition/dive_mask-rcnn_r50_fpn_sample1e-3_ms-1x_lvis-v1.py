# DiVE distillation from a frozen teacher detector (the softmax Mask R-CNN baseline of the same
# classes, trained first) on the LVIS v1 Mask R-CNN R50-FPN baseline (configs/lvis/, RFS 1e-3,
# 1x, LVIS metric): the teacher scores the student's sampled RoIs on its own features
# (TeacherTwoStageDetector: MaskRCNN is a TwoStageDetector with these defaults).
_base_ = '../lvis/softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(
    type='TeacherTwoStageDetector',
    teacher=dict(checkpoint='work_dirs/mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1/epoch_12.pth'),
    roi_head=dict(bbox_head=dict(
        type='DiVEBBoxHead',
        class_counts_file='data/lvis_v1/annotations/lvis_v1_train.json',
        tau=3.0, power=0.5, alpha=0.5)))
