# gated-conv without early fusion: x_context reaches the detector only through the trained
# logit-sum late fusion, so the box head's shared FCs and regressor see vanilla's RoI features.
# Why: on the scene-visible split gated-conv lost ~1 mAP to vanilla (seeds 0, 1 at 1200
# iterations) at high IoU (AP50 equal, AP75 and medium-object AP lower) and on non-context
# classes, i.e. in localisation, which only the early fusion reaches.
_base_ = './hce-gated-conv_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(context_roi=dict(early_fusion=None, gate=None)))
