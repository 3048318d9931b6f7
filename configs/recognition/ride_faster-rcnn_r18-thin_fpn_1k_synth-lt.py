# RIDE: 3 experts (shared trunk, own fc + cosine classifier), LDAM-CE + diversity KL (-0.2),
# deferred re-weighting from 80 % of the run (class-balanced CE weights and class-dependent
# diversity temperature, as RIDE's reweight_epoch 160/200), driven by CumulativeAlphaHook.
# RIDE's second stage (the expert router on the frozen stage-1 model) is the `ride-ea` row of
# `compare.py recognition` (tools/analysis/ladders.py). The experts' losses are summed (RIDE's);
# averaged (`expert_reduction='mean'`, row `ride-mean-lr0.01`) RIDE gains +7.7 AP / +14.2 APr
# at LR 0.01 on 3/3 seeds (docs/results/recognition_1500.notes.md).
_base_ = './softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='RIDEBBoxHead', class_counts_file={{_base_.lt_counts_file}}, num_experts=3,
    reweight_start=0.8)))
custom_hooks = [dict(type='NumClassCheckHook'), dict(type='CumulativeAlphaHook')]
