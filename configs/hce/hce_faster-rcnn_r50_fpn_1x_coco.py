# HCE (Hierarchical Context Embedding, ECCV 2020) on mmdet's Faster R-CNN R50-FPN 1x COCO.
# Only roi_head.type and the three HCE keys change; every other setting is mmdet's.
# Defaults (see hce_det/models/hce): embedding from P3 (stride 8), GAP+GMP image logits with BCE
# weight 1.0, x_context = conv1x1([x_instance, x_global]), early fusion 'sum', late fusion by the
# mean of the two softmax outputs.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(
    roi_head=dict(
        type='HCERoIHead',
        context_embedding=dict(in_levels=[1], loss_img_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
        context_roi=dict(early_fusion='sum', use_global=True),
        late_fusion=dict(fusion='mean', test_branch='both', loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))))
# mmdet's COCO evaluation settings (ann_file, metric) on faster-coco-eval: same numbers as
# CocoMetric (pycocotools), several times faster (hce_det/evaluation/faster_coco_metric.py)
val_evaluator = dict(type='FasterCocoMetric')
test_evaluator = val_evaluator
