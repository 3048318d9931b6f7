# The main job's vanilla baseline with a cheaper training step: 64 sampled RoIs per image
# (was 128) and the RPN's training proposals from the top 500 per level, 300 kept after NMS
# (were 1000 / 500). Test-time settings unchanged.
# Why: `make demo` trains two of these side by side and took 9 min 21 s to 11 min 18 s on
# 2-core hosts with the default step; this step is 0.346 vs 0.471 s per iteration (1 thread,
# HCE twin, 60 iterations, twice interleaved: 0.3491 / 0.3438 vs 0.4734 / 0.4682). The RPN's
# NMS over ~2000 boxes per image was 13 % of the step, the RoI head's 128 RoIs ~25 %.
# Measured 3 paired seeds at 1200 iterations (docs/results/hce_1200_roi64.notes.md).
_base_ = './faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=300),
        rcnn=dict(sampler=dict(num=64))))
