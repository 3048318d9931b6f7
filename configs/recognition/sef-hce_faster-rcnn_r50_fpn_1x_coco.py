# SEF-style grouped sub-feature regularizer (K=4 channel groups)
# on the HCE Faster R-CNN R50-FPN 1x COCO config (configs/hce/); only the bbox head changes.
_base_ = '../hce/hce_faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(roi_head=dict(bbox_head=dict(
    type='SEFBBoxHead', num_groups=4, group_weight=1.0, soft_weight=0.05,
    entropy_weight=1.0)))
