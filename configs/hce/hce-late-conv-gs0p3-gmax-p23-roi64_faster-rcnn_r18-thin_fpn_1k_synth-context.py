# The chosen HCE settings (late-conv-gs0.3-gmax-p23) on the demo's cheaper training step
# (configs/demo/roi64_faster-rcnn_r18-thin_fpn_1k_synth-context.py: 64 sampled RoIs per image,
# RPN training proposals 500 per level / 300 kept). Test-time settings unchanged.
_base_ = './hce-late-conv-gs0p3-gmax-p23_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=300),
        rcnn=dict(sampler=dict(num=64))))
