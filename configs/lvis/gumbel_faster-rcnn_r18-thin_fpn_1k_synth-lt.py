# Synth-LT proxy: fixed Gumbel classifier with plain BCE (GOL activation without DropLoss).
_base_ = './softmax-ce_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='GumbelBBoxHead', loss_cls=dict(_delete_=True, type='LongTailBCELoss'))))
