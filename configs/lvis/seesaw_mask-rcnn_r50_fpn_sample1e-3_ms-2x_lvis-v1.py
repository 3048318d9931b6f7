# mmdet's Seesaw loss (p=0.8, q=2) with the NormedLinear classifier (temperature 20).
# Reference recipe: mmdet 3.3 configs/seesaw_loss/
# mask-rcnn_r50_fpn_seesaw-loss-normed-mask_sample1e-3-ms-2x_lvis-v1.py (2x, RFS 1e-3, normalised
# mask conv, score 1e-4, 300 detections); target: 27.6 box AP / 26.8 mask AP (mmdet metafile).
# Deliberate difference: SyncSeesawLoss (class counts all-reduced across GPUs each step) instead
# of SeesawLoss (per-GPU counts); identical on one GPU (docs/RECIPES.md).
_base_ = './softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py'
model = dict(roi_head=dict(bbox_head=dict(
    cls_predictor_cfg=dict(type='NormedLinear', tempearture=20),
    loss_cls=dict(_delete_=True, type='SyncSeesawLoss', p=0.8, q=2.0, num_classes=1203,
                  loss_weight=1.0))))
