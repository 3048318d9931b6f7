# Synth-LT proxy: learnable APA classifier (init = sigmoid, lam = kappa = 1), BCE.
_base_ = './softmax-ce_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='APABBoxHead', loss_cls=dict(_delete_=True, type='LongTailBCELoss'))))
