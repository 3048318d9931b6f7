# RIDE: 3 experts (shared trunk, own fc + cosine classifier), LDAM-CE + diversity KL (-0.2).
_base_ = './softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='RIDEBBoxHead', class_counts_file={{_base_.lt_counts_file}}, num_experts=3)))
