# late-conv with the embedding reading the FPN without gradient: neither loss_img_cls nor the
# context classifier's loss reaches the shared backbone and neck.
# Why: late-conv (no early fusion) lost 0.9 mAP to vanilla on the scene-visible split (seed 0,
# 1200 iterations), as gated-conv did, at high IoU (AP75 99.3 vs 99.6, AP_s 86.2 vs 87.1) with a
# higher training loss_bbox (0.141 vs 0.130) and twice vanilla's gradient norm: the HCE losses
# reshaping the shared P3 features is the remaining path to the localisation.
_base_ = './hce-late-conv_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(context_embedding=dict(detach_input=True)))
