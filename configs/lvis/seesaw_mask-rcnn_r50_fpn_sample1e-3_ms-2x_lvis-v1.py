# mmdet's Seesaw loss (p=0.8, q=2) with the NormedLinear classifier (temperature 20).
_base_ = './softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py'
model = dict(roi_head=dict(bbox_head=dict(
    cls_predictor_cfg=dict(type='NormedLinear', tempearture=20),
    loss_cls=dict(_delete_=True, type='SyncSeesawLoss', p=0.8, q=2.0, num_classes=1203,
                  loss_weight=1.0))))
