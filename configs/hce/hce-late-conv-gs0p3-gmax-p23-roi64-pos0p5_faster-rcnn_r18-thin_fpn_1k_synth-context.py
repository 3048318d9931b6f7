# The chosen HCE settings on the demo's cheaper training step with up to half of the 64 sampled
# RoIs positive (see configs/demo/roi64-pos0p5_faster-rcnn_r18-thin_fpn_1k_synth-context.py).
_base_ = './hce-late-conv-gs0p3-gmax-p23-roi64_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(train_cfg=dict(rcnn=dict(sampler=dict(pos_fraction=0.5))))
