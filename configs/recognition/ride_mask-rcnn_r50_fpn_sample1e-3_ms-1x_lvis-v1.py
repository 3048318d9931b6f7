# RIDE: 3 experts with cosine classifiers, LDAM-CE + diversity KL, deferred re-weighting from
# 80 % of the run (RIDE reweight_epoch 160/200) by epoch through CumulativeAlphaHook
# on the LVIS v1 Mask R-CNN R50-FPN baseline (configs/lvis/, RFS 1e-3, 1x, LVIS metric);
# only the bbox head changes.
_base_ = '../lvis/softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(roi_head=dict(bbox_head=dict(
    type='RIDEBBoxHead',
    class_counts_file='data/lvis_v1/annotations/lvis_v1_train.json', num_experts=3)))
custom_hooks = [dict(type='CumulativeAlphaHook', by_epoch=True)]
