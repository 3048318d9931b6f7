# ResNet-101 C4 Faster R-CNN of the CR-DA reference for PASCAL VOC -> Clipart1k / Watercolor2k
# (megvii-research/CR-DA-DET SW_Faster_ICR_CCR/: train_clipart.sh, cfgs/res101.yml,
# lib/model/da_faster_rcnn_instance_da_weight/resnet.py, lib/model/utils/config.py), on top of
# mmdet's caffe C4 model:
# - weights: faster-rcnn.pytorch's `resnet101_caffe.pth` (train_clipart.sh --pretrained_path),
#   torchvision key names (conv1, bn1, layerX.Y.*, downsample.*), caffe style (stride in the 1x1
#   conv), BGR PIXEL_MEANS [102.9801, 115.9465, 122.7717], no std; the RoI shared head is
#   layer4 of the *same* ResNet-101 (mmdet's C4 base would give it ResNet-50 weights).
#   Downloadable near-equivalent (not the reference file): open-mmlab://detectron2/resnet101_caffe
#   (the same MSRA weights) with mean [103.530, 116.280, 123.675] for backbone and shared head.
# - only conv1/bn1 frozen (the FIXED_BLOCKS lines are commented out: layer1 trains), every BN
#   frozen; the backbone also returns layer1 (256 ch, stride 4) for the local discriminator
#   (RCNN_base1 ends at layer1), SelectFeatureLevels hands layer3 (C4) to the RPN / RoI head.
# - anchors 8/16/32 x 0.5/1/2 (not mmdet C4's 2..32), RPN conv 512 ch, smooth-L1 sigma 3 (RPN) /
#   1 (RoI), RoIAlign 7x7 (aligned=False) -> layer4 (stride 2) -> average pool, RoI batch 128
#   (res101.yml BATCH_SIZE), proposals 12000/2000 (train) and 6000/300 (test); test: score > 0,
#   class NMS 0.3, 100 detections (eval/test_SW_ICR_CCR.py, TEST.NMS).
_base_ = 'mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py'
r101_caffe_ckpt = 'checkpoints/resnet101_caffe.pth'
model = dict(
    data_preprocessor=dict(mean=[102.9801, 115.9465, 122.7717], std=[1.0, 1.0, 1.0],
                           bgr_to_rgb=False, pad_size_divisor=16),
    backbone=dict(depth=101, out_indices=(0, 2), frozen_stages=0,
                  init_cfg=dict(type='Pretrained', checkpoint=r101_caffe_ckpt)),
    neck=dict(type='SelectFeatureLevels', indices=[1]),
    rpn_head=dict(
        feat_channels=512,
        anchor_generator=dict(scales=[8, 16, 32]),
        loss_bbox=dict(_delete_=True, type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)),
    roi_head=dict(
        shared_head=dict(depth=101,
                         init_cfg=dict(type='Pretrained', checkpoint=r101_caffe_ckpt)),
        bbox_roi_extractor=dict(roi_layer=dict(output_size=7, aligned=False)),
        # layer4 (stride 2) turns the 7x7 RoI features into 4x4; the box head averages them
        # (the reference's .mean(3).mean(2)): AvgPool2d(roi_feat_size=4)
        bbox_head=dict(
            roi_feat_size=4,
            loss_bbox=dict(_delete_=True, type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),
    train_cfg=dict(rpn=dict(allowed_border=0), rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(max_per_img=300),
                  rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.3),
                            max_per_img=100)))
