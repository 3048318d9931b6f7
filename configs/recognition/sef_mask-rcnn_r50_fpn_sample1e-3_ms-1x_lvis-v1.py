# SEF-style grouped sub-feature regularizer (K=4 channel groups)
# on the LVIS v1 Mask R-CNN R50-FPN baseline (configs/lvis/, RFS 1e-3, 1x, LVIS metric);
# only the bbox head changes.
_base_ = '../lvis/softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(roi_head=dict(bbox_head=dict(
    type='SEFBBoxHead', num_groups=4, group_weight=1.0, soft_weight=0.05,
    entropy_weight=1.0)))
