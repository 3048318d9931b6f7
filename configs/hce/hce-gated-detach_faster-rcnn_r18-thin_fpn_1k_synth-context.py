# Ablation of hce-gated: the embedding reads the FPN without gradient (no HCE loss reaches the
# shared backbone and neck).
_base_ = './hce-gated_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(context_embedding=dict(detach_input=True)))
