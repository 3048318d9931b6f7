# HCE (Hierarchical Context Embedding, ECCV 2020) on mmdet's Faster R-CNN R50-FPN 1x COCO.
# Only roi_head.type and the three HCE keys change; every other setting is mmdet's.
# HCE settings: the ones the built-in ladders chose (3 paired seeds at 900 and 1200 iterations;
# docs/RESULTS.md, hce_900_p23, hce_scene_900_p23, hce_1200_gs; the paper leaves these open):
#   context_embedding: P3 + P2 (P2 resized to P3's size and added: the finest level, where the
#     RoI head pools small objects; the conv and class maps stay at P3's cost), one 3x3 conv
#     before the class maps (num_convs=1), GAP+GMP image logits with BCE weight 1.0, 0.3 of
#     HCE's gradient into the backbone and neck; the conv 128 wide (conv_channels: a speed
#     choice, not an accuracy one: the ladders' conv is as wide as their 64-channel FPN; at 256
#     it measured 1.034x / 1.053x vanilla's inference at 800 px, at 128 1.015x / 0.993x,
#     tools/analysis/benchmark_overhead.py, docs/results/hce_900_p23.notes.md);
#   context_roi: x_context = ReLU(W_i x_instance + W_g x_global + b) with x_global the image's
#     global max of the embedded map (global_pool='max'), no early fusion;
#   late_fusion: trained logit sum (the box head's CE on s_det + s_ctx, s_ctx starting at 0).
# The earlier settings (early 'sum' fusion, untrained 'mean' late fusion, 3x3 conv off, end to
# end): hce-both_faster-rcnn_r50_fpn_1x_coco.py.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(
    roi_head=dict(
        type='HCERoIHead',
        context_embedding=dict(
            in_levels=[1, 0], num_convs=1, conv_channels=128, input_grad_scale=0.3,
            loss_img_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
        context_roi=dict(early_fusion=None, use_global=True, global_pool='max'),
        late_fusion=dict(fusion='logit_sum', test_branch='both', loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))))
# mmdet's COCO evaluation settings (ann_file, metric) on faster-coco-eval: same numbers as
# CocoMetric (pycocotools), several times faster (hce_det/evaluation/faster_coco_metric.py)
val_evaluator = dict(type='FasterCocoMetric')
test_evaluator = val_evaluator
