# Synth-LT proxy: EQLv2 with the test-time activation fix (EQLV2FixedLoss).
_base_ = './softmax-ce_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    loss_cls=dict(_delete_=True, type='EQLV2FixedLoss', num_classes=10))))
