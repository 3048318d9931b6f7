# Synth-LT proxy: federated loss, 5 of the 10 classes per batch (Detic: 50 of 1203), weights
# image_count^0.5 from lt_train.json.
_base_ = './softmax-ce_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='LongTailBBoxHead',
    loss_cls=dict(_delete_=True, type='FederatedLoss', num_sample_cats=5, freq_weight_power=0.5,
                  ann_file={{_base_.lt_train_ann_file}}))))
