# MDCS: 3 logit-adjusted experts (q = -0.5, 1, 2.5) + consistency self-distillation (0.6).
_base_ = './softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='MDCSBBoxHead', class_counts_file={{_base_.lt_counts_file}},
    q=(-0.5, 1.0, 2.5), cs_weight=0.6)))
custom_hooks = [dict(type='NumClassCheckHook'), dict(type='CumulativeAlphaHook')]
