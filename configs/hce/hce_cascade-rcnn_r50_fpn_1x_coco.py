# HCE on mmdet's Cascade R-CNN R50-FPN 1x COCO: one image-level embedding, context RoI features
# and a context classifier at each of the three stages (separate weights per stage).
_base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(
    roi_head=dict(
        type='HCECascadeRoIHead',
        context_embedding=dict(in_levels=[1]),
        context_roi=dict(early_fusion='sum', use_global=True),
        late_fusion=dict(fusion='mean', test_branch='both')))
# mmdet's COCO evaluation settings (ann_file, metric) on faster-coco-eval: same numbers as
# CocoMetric (pycocotools), several times faster (hce_det/evaluation/faster_coco_metric.py)
val_evaluator = dict(type='FasterCocoMetric')
test_evaluator = val_evaluator
