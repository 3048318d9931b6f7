# Synth-LT proxy: mmdet Seesaw loss (p=0.8, q=2) with NormedLinear (temperature 20).
_base_ = './softmax-ce_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    cls_predictor_cfg=dict(type='NormedLinear', tempearture=20),
    loss_cls=dict(_delete_=True, type='SyncSeesawLoss', p=0.8, q=2.0, num_classes=10,
                  loss_weight=1.0))))
