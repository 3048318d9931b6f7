# Ablation of hce-gated: the context classifier reads the flattened 7x7 x_context (like the box
# head's shared FCs) instead of its global average.
_base_ = './hce-gated_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(late_fusion=dict(pool='flatten')))
