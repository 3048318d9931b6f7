# HCE on mmdet's Mask R-CNN R50-FPN 1x COCO: the box branch gets HCE, the mask branch (its own
# RoI extractor and head) is unchanged.
# HCE settings: as hce_faster-rcnn_r50_fpn_1x_coco.py (chosen on the built-in ladders).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(
    roi_head=dict(
        type='HCERoIHead',
        context_embedding=dict(in_levels=[1, 0], num_convs=1, conv_channels=128,
                               input_grad_scale=0.3),
        context_roi=dict(early_fusion=None, use_global=True, global_pool='max'),
        late_fusion=dict(fusion='logit_sum', test_branch='both')))
# mmdet's COCO evaluation settings (ann_file, metric) on faster-coco-eval: same numbers as
# CocoMetric (pycocotools), several times faster (hce_det/evaluation/faster_coco_metric.py)
val_evaluator = dict(type='FasterCocoMetric')
test_evaluator = val_evaluator
