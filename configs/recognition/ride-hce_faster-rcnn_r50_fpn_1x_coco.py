# RIDE: 3 experts with cosine classifiers, LDAM-CE + diversity KL, deferred re-weighting from
# 80 % of the run (RIDE reweight_epoch 160/200) by epoch through CumulativeAlphaHook
# on the HCE Faster R-CNN R50-FPN 1x COCO config (configs/hce/); only the bbox head changes.
_base_ = '../hce/hce_faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(roi_head=dict(bbox_head=dict(
    type='RIDEBBoxHead',
    class_counts_file='data/coco/annotations/instances_train2017.json', num_experts=3)))
custom_hooks = [dict(type='CumulativeAlphaHook', by_epoch=True)]
