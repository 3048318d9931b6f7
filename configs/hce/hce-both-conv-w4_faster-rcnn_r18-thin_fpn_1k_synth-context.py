# hce-both-conv_* with the image-level BCE weighted 4x (loss_img_cls.loss_weight=4): in
# hce-both-conv at 1200 iterations loss_img_cls only starts to fall after ~700 iterations.
_base_ = './hce-both-conv_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(context_embedding=dict(
    loss_img_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=4.0))))
