# BBN bilateral RoI classifier (class-reversed RoI re-sampling), alpha = 1 - (t/T)^2 by hook.
_base_ = './softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='BBNBBoxHead', class_counts_file={{_base_.lt_counts_file}})))
custom_hooks = [dict(type='NumClassCheckHook'), dict(type='CumulativeAlphaHook')]
