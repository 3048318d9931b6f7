# Synth-LT proxy: learnable APA classifier + DropLoss.
_base_ = './softmax-ce_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='APABBoxHead',
    loss_cls=dict(_delete_=True, type='DropLoss', freq_thr={{_base_.synth_freq_thr}},
                  ann_file={{_base_.lt_train_ann_file}}))))
