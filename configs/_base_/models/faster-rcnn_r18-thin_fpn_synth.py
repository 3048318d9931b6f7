# A small Faster R-CNN for 128 px images trained from scratch on CPU: ResNet-18 at half width
# (32-64-128-256 channels), 64-channel FPN, anchors 16-256 px, 256-d box head.
_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'
model = dict(
    backbone=dict(depth=18, stem_channels=32, base_channels=32, frozen_stages=-1,
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64,
                  anchor_generator=dict(scales=[4])),
    roi_head=dict(
        # mmcv's RoIAlign with a CPU path 3-10x faster (forward + backward) and the same
        # numbers (hce_det/models/layers/sparse_roi_align.py; benchmark_roi_align.py); needs
        # custom_imports=['hce_det'], which every config on this base has
        bbox_roi_extractor=dict(type='SparseRoIExtractor', out_channels=64, finest_scale=28),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=10)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))
