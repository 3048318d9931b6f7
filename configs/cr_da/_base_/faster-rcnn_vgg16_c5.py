# Single-level Faster R-CNN on VGG16 conv5_3 (stride 16) as in the CR-DA reference
# (megvii-research/CR-DA-DET, DA_Faster_ICR_CCR/ and SW_Faster_ICR_CCR/: lib/model/*/vgg16.py,
# cfgs/vgg16.yml, lib/model/utils/config.py):
# - weights: faster-rcnn.pytorch's caffe VGG16 `vgg16_caffe.pth` (train_cityscape.sh
#   --pretrained_path); its keys are torchvision's (the reference loads it by name into
#   torchvision.models.vgg16), so it loads as is: put it at `vgg16_caffe_ckpt`.
# - caffe preprocessing: BGR, PIXEL_MEANS [102.9801, 115.9465, 122.7717], no std.
# - conv1-conv2 frozen ("Fix the layers before conv3": features[:10]).
# - the backbone returns features[:14] = ReLU(conv3_2) (SW-Faster's local discriminator input,
#   RCNN_base1) and features[:30] = ReLU(conv5_3); SelectFeatureLevels hands conv5_3 alone to the
#   RPN and the RoI head.
# - box head = VGG16 classifier minus its last layer: fc6/fc7 (4096) with ReLU + Dropout(0.5),
#   initialised from the checkpoint's classifier.0 / classifier.3 (Shared2FCDropoutBBoxHead).
# - RoIAlign 7x7 (POOLING_MODE align, maskrcnn-benchmark ROIAlign = aligned=False), anchors
#   8/16/32 x 0.5/1/2, RPN batch 256 (fg 0.5, IoU 0.7/0.3), proposals 12000/2000 (train) and
#   6000/300 (test) with NMS 0.7, RoI batch 256 (fg 0.25, fg IoU >= 0.5, bg [0, 0.5)), box
#   target stds 0.1/0.1/0.2/0.2, smooth-L1 sigma 3 (RPN) / 1 (RoI); test: score > 0, class NMS
#   0.3, 100 detections (eval/test.py thresh 0.0, max_per_image 100, TEST.NMS 0.3).
# Alternative weights (not the reference): init_cfg.checkpoint=torchvision://vgg16 (and the box
# head's fc_init) with data_preprocessor mean=[123.675, 116.28, 103.53],
# std=[58.395, 57.12, 57.375], bgr_to_rgb=True.
vgg16_caffe_ckpt = 'checkpoints/vgg16_caffe.pth'
model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[102.9801, 115.9465, 122.7717], std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False, pad_size_divisor=16),
    backbone=dict(type='DetVGG', depth=16, out_layers=(14, 30), frozen_stages=2,
                  init_cfg=dict(type='Pretrained', checkpoint=vgg16_caffe_ckpt)),
    neck=dict(type='SelectFeatureLevels', indices=[1]),
    rpn_head=dict(
        type='RPNHead', in_channels=512, feat_channels=512,
        anchor_generator=dict(type='AnchorGenerator', scales=[8, 16, 32],
                              ratios=[0.5, 1.0, 2.0], strides=[16]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0, aligned=False),
            out_channels=512, featmap_strides=[16]),
        bbox_head=dict(
            type='Shared2FCDropoutBBoxHead', in_channels=512, fc_out_channels=4096,
            roi_feat_size=7, num_classes=8, dropout=0.5,
            fc_init=dict(checkpoint=vgg16_caffe_ckpt, keys=('classifier.0', 'classifier.3')),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                          min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=0, pos_weight=-1, debug=False),
        rpn_proposal=dict(nms_pre=12000, max_per_img=2000, nms=dict(type='nms', iou_threshold=0.7),
                          min_bbox_size=0),
        rcnn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            pos_weight=-1, debug=False)),
    test_cfg=dict(
        rpn=dict(nms_pre=6000, max_per_img=300, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.3), max_per_img=100)))
