# SEF-style regularizer: 4 channel groups of the RoI feature with group classifiers,
# group decorrelation (weight 1) and KL from the global prediction (weight 1).
_base_ = './softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='SEFBBoxHead', num_groups=4, group_weight=1.0, kd_weight=1.0)))
