# DiVE distillation from a frozen teacher RoI head (a trained softmax model of the same classes)
# on the HCE Faster R-CNN R50-FPN 1x COCO config (configs/hce/); only the bbox head changes.
# The HCE RoI head builds its context features inside its own loss, so the whole-detector teacher
# (TeacherTwoStageDetector) does not apply; the head-only teacher reads the student's RoI
# features, which is only meaningful when the student starts from the teacher's weights: the
# student is initialised from the teacher checkpoint (load_from) and fine-tuned.
_base_ = '../hce/hce_faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
teacher_ckpt = 'work_dirs/hce_faster-rcnn_r50_fpn_1x_coco/epoch_12.pth'
model = dict(roi_head=dict(bbox_head=dict(
    type='DiVEBBoxHead',
    class_counts_file='data/coco/annotations/instances_train2017.json',
    tau=3.0, power=0.5, alpha=0.5,
    teacher=dict(checkpoint=teacher_ckpt, prefix='roi_head.bbox_head.'))))
load_from = teacher_ckpt
