# MDCS: 3 logit-adjusted experts (q = -0.5, 1, 2.5) with cosine classifiers (scale 30, MDCS
# use_norm) + consistency self-distillation (0.6, warm-up over the first 5 % of the run).
_base_ = './softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='MDCSBBoxHead', class_counts_file={{_base_.lt_counts_file}},
    q=(-0.5, 1.0, 2.5), cs_weight=0.6, classifier='cosine', scale=30.0)))
custom_hooks = [dict(type='NumClassCheckHook'), dict(type='CumulativeAlphaHook')]
