# late-conv-gs0.3-gmax-p23 whose image-level branch (context_embedding: 3x3 conv, class maps,
# re-projection) learns with 3x the base LR; the backbone, neck and heads keep the base LR.
# Why: at 900 iterations p23 gains +28.3 / +21.7 context AP on seeds 0 / 1 but +0.2 on seed 2,
# whose loss_img_cls stays near its prior (0.57) until ~600 iterations and ends at 0.51
# (seeds 0 / 1: 0.40 / 0.41): the branch starts learning too late for this budget.
# Measured (seed 2, 900 iterations): 46.2 vs vanilla 46.7 context AP, twin confusion 51.2 %;
# loss_img_cls 0.565 at 750 iterations (1x: 0.530): no earlier learning
# (docs/results/hce_900_p23.notes.md).
_base_ = './hce-late-conv-gs0p3-gmax-p23_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'roi_head.context_embedding': dict(lr_mult=3.0)}))
