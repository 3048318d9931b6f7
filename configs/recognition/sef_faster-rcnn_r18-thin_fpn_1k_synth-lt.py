# SEF regularizers (cswluo/SEF release): 4 channel groups of the RoI feature with group
# classifiers, semantic grouping of the channels (weight 1), transfer from the global prediction
# to each group (weight 0.05) and maximum entropy of the global prediction (weight 1).
_base_ = './softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='SEFBBoxHead', num_groups=4, group_weight=1.0, soft_weight=0.05,
    entropy_weight=1.0)))
