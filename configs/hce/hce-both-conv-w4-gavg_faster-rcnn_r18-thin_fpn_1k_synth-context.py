# hce-both-conv-w4_* with x_global averaged to one vector per image (context_roi.global_pool='avg'):
# every RoI position sees the image's whole embedding, the headroom split's cue.
_base_ = './hce-both-conv-w4_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(context_roi=dict(global_pool='avg')))
