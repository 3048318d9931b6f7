# R101 version of AGLU-APA-GOL. Reference recipe: kostas1515/AGLU mmdetection_v3.2/configs/
# activations/mask_rcnn_r101_fpn_8x2_sample1e-3_mstrain_lvis_2x.py; target: LVIS v1 val 30.7 mask
# AP / 23.6 APr / 31.1 box AP (AGLU README). As the R50 recipe except: the SE-R101-AGLU ImageNet
# checkpoint (imagenet_full_se_r101_..._relinse_softplus_99, converted with
# tools/model_converters/se_resnet_aglu_to_hce.py), and the plain mask head of mmdet (deconv
# upsampling, cosine mask conv with a fixed temperature 20). Differences: docs/RECIPES.md.
_base_ = './gumbel-droploss_mask-rcnn_se-r50-aglu_fpn_sample1e-3_ms-2x_lvis-v1.py'
se_aglu_ckpt = 'checkpoints/se-r101-aglu_imagenet_converted.pth'
model = dict(
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint=se_aglu_ckpt)),
    roi_head=dict(mask_head=dict(
        predictor_cfg=dict(_delete_=True, type='NormedConv2d', tempearture=20),
        upsample_cfg=dict(_delete_=True, type='deconv', scale_factor=2))))
