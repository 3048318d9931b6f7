# AGLU-APA-GOL (ECCV 2024 APA paper), SE-ResNet-50 with AGLU activations and APA-gated SE + GOL
# head (Gumbel + DropLoss). Reference recipe: kostas1515/AGLU mmdetection_v3.2/configs/activations/
# mask_rcnn_r50_fpn_8x2_sample1e-3_mstrain_lvis_2x.py (batch_files/train_lvis.sh, 8 GPUs x 2
# images); target: LVIS v1 val 29.2 mask AP / 21.8 APr / 29.1 box AP (AGLU README):
# - backbone init: the reference's SE-R50-AGLU ImageNet checkpoint
#   (imagenet_full_se_r50_cosine_scheduler_mixup_aug_unirect_relinse_99.pth) converted to our
#   names with tools/model_converters/se_resnet_aglu_to_hce.py (unconverted, no SE/AGLU
#   parameter would load); frozen_stages=1 then freezes stem + layer1 whole, as the reference.
#   Starting from torchvision://resnet50 instead (not the reference) leaves the SE/AGLU
#   parameters of the frozen stages trainable (SEResNetAGLU freeze_se_act=None).
# - mask head: CARAFE upsampling (x2, up_kernel 5, group 1, encoder 3, dilation 1, 64 compressed
#   channels) and a cosine mask conv with a learnable temperature t (logits x t^2, t0 = 4.5).
# - test: score 1e-4, class NMS 0.3, 300 detections, mask threshold 0.4.
# Remaining deliberate differences: docs/RECIPES.md.
_base_ = './gumbel-droploss_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py'
se_aglu_ckpt = 'checkpoints/se-r50-aglu_imagenet_converted.pth'
model = dict(
    backbone=dict(type='SEResNetAGLU', init_cfg=dict(type='Pretrained', checkpoint=se_aglu_ckpt)),
    roi_head=dict(mask_head=dict(
        predictor_cfg=dict(_delete_=True, type='NormedConv2dLearnableTemp',
                           temperature_init=4.5),
        upsample_cfg=dict(type='carafe', scale_factor=2, up_kernel=5, up_group=1,
                          encoder_kernel=3, encoder_dilation=1, compressed_channels=64))),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.4)))
