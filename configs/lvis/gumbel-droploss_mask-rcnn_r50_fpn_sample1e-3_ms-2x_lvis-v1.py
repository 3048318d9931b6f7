# GOL: fixed Gumbel classifier (logits clamped to [-10, 10], fc_cls init 0.001 / bias -2) trained
# with DropLoss (rare-class negatives dropped below image frequency 0.0011) -- the released AGLU
# LVIS head (kostas1515/AGLU). Image counts are read from the LVIS train json on the first step;
# frequency = image_count / #annotated images (99,388, the reference divisor).
# Reference recipe: kostas1515/AGLU @a64c8b2 instance_segmentation/configs/gol/
# droploss_normed_mask_r50_rfs_4x4_2x_gumbel.py (GOL, ECCV 2022; target 27.7 mask AP, 21.4 APr):
# Mask R-CNN R50-FPN, torchvision R50, RFS 1e-3, multi-scale 640-800, 2x (lr 0.02, 16 images),
# normalised mask conv (temperature 20); test score 1e-4, class NMS 0.3, 300 detections, mask
# threshold 0.5. Remaining deliberate differences: docs/RECIPES.md.
_base_ = './softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py'
model = dict(
    roi_head=dict(bbox_head=dict(
        type='GumbelBBoxHead',
        loss_cls=dict(_delete_=True, type='DropLoss', freq_thr=0.0011,
                      ann_file={{_base_.lvis_train_ann}}, num_images_from='annotated'))),
    test_cfg=dict(rcnn=dict(nms=dict(type='nms', iou_threshold=0.3), mask_thr_binary=0.5)))
