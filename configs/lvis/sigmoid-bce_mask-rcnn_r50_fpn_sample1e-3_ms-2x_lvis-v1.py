# Sigmoid BCE classifier: 1203 outputs, no background logit (zero background score at test).
_base_ = './softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='LongTailBBoxHead', loss_cls=dict(_delete_=True, type='LongTailBCELoss'))))
