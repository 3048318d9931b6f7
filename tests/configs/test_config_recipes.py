"""Configs that name a reference reproduce its recipe (issue 18).

For each such config, the *resolved* value of every setting the issue compared equals the
reference value written below, with the file it comes from. Deliberate differences are not
listed here: docs/RECIPES.md names them per config (and the test at the end checks that every
config named here has its section there).

Key syntax: dots and ``[i]`` as in Python; ``[Type]`` picks the first list item whose ``type``
is ``Type`` (pipeline steps); ``[*]`` maps over a list. Sequences compare as lists.
"""
import os.path as osp
import re

import pytest

from conftest import ROOT

# ------------------------------------------------------------------------------- sources
CRDA = 'megvii-research/CR-DA-DET'
DA_TRAIN = f'{CRDA} DA_Faster_ICR_CCR/da_trainval_net.py'
SW_TRAIN = f'{CRDA} SW_Faster_ICR_CCR/da_train_net.py'
CRDA_CFG = f'{CRDA} */lib/model/utils/config.py'
VGG_YML = f'{CRDA} */cfgs/vgg16.yml'
RES_YML = f'{CRDA} SW_Faster_ICR_CCR/cfgs/res101.yml'
VGG_PY = f'{CRDA} */lib/model/*/vgg16.py'
RES_PY = f'{CRDA} SW_Faster_ICR_CCR/lib/model/da_faster_rcnn_instance_da_weight/resnet.py'
TEST_PY = f'{CRDA} */eval/test*.py'
EQL = 'tztztztztz/eqlv2'
EQL_CFG = f'{EQL} configs/end2end/eqlv2_r50_8x2_1x.py'
EQL_BASE = f'{EQL} configs/lvis/mask_rcnn_r50_fpn_sample1e-3_mstrain_1x_lvis_v1.py (mmdet 2.3)'
AGLU_R50 = ('kostas1515/AGLU mmdetection_v3.2/configs/activations/'
            'mask_rcnn_r50_fpn_8x2_sample1e-3_mstrain_lvis_2x.py')
AGLU_R101 = ('kostas1515/AGLU mmdetection_v3.2/configs/activations/'
             'mask_rcnn_r101_fpn_8x2_sample1e-3_mstrain_lvis_2x.py')
GOL_R50 = ('kostas1515/AGLU @a64c8b2 instance_segmentation/configs/gol/'
           'droploss_normed_mask_r50_rfs_4x4_2x_gumbel.py')
MMDET_LVIS = 'mmdet 3.3 configs/lvis/mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'
MMDET_SEESAW = ('mmdet 3.3 configs/seesaw_loss/'
                'mask-rcnn_r50_fpn_seesaw-loss-normed-mask_sample1e-3-ms-2x_lvis-v1.py')


class Basename(str):
    """Expected file name of a path value (the directory is the user's)."""

    def matches(self, value):
        return isinstance(value, str) and osp.basename(value) == self


# ------------------------------------------------------------------------- CR-DA recipes
SCHEDULE = [  # both trainers: same loop (train_*.sh --max_epochs 12, defaults otherwise)
    ('train_cfg.max_iters', 120000, f'{DA_TRAIN}: 12 epochs x iters_per_epoch 10000 / bs 1'),
    ('param_scheduler[*].type', ['MultiStepLR'], f'{DA_TRAIN}: no warm-up'),
    ('param_scheduler[0].milestones', [50000, 110000],
     f'{DA_TRAIN}: x0.1 when epoch % (lr_decay_step 5 + 1) == 0, epochs 6 and 12'),
    ('param_scheduler[0].gamma', 0.1, f'{DA_TRAIN}: --lr_decay_gamma 0.1'),
    ('optim_wrapper.optimizer.type', 'SGD', f'{DA_TRAIN}: --o sgd'),
    ('optim_wrapper.optimizer.lr', 1e-3, f'{DA_TRAIN}: --lr 0.001'),
    ('optim_wrapper.optimizer.momentum', 0.9, f'{CRDA_CFG}: TRAIN.MOMENTUM'),
    ('optim_wrapper.paramwise_cfg.bias_decay_mult', 0.0, f'{CRDA_CFG}: TRAIN.BIAS_DECAY False'),
    ('train_cfg.val_begin', 60000, f'{CRDA} */test_cityscape.py: epochs 6..12 evaluated'),
    ('train_cfg.val_interval', 10000, f'{DA_TRAIN}: a checkpoint per epoch'),
    ('default_hooks.checkpoint.interval', 10000, f'{DA_TRAIN}: a checkpoint per epoch'),
    ('default_hooks.checkpoint.max_keep_ckpts', 7, f'{CRDA} */test_cityscape.py: epochs 6..12'),
    ('auto_scale_lr.enable', False, f'{DA_TRAIN}: lr 1e-3 for 1 + 1 images (one GPU)'),
]
DA_BATCH = [
    ('train_dataloader.batch_size', 2, f'{DA_TRAIN}: --bs 1 source + 1 target'),
    ('train_dataloader.sampler.source_ratio', [1, 1], f'{DA_TRAIN}: --bs 1 source + 1 target'),
]


def detector(train):
    """RPN, RoI sampling and test settings both reference detectors share (VGG16 and ResNet-101,
    trained by ``train``)."""
    return [
        ('model.rpn_head.feat_channels', 512, f'{CRDA} */lib/model/rpn/rpn.py: RPN_Conv 512'),
        ('model.rpn_head.anchor_generator.scales', [8, 16, 32], f'{train}: ANCHOR_SCALES'),
        ('model.rpn_head.anchor_generator.ratios', [0.5, 1.0, 2.0], f'{train}: ANCHOR_RATIOS'),
        ('model.train_cfg.rcnn.sampler.pos_fraction', 0.25, f'{CRDA_CFG}: FG_FRACTION'),
        ('model.test_cfg.rpn.max_per_img', 300, f'{CRDA_CFG}: TEST.RPN_POST_NMS_TOP_N'),
        ('model.test_cfg.rcnn.score_thr', 0.0, f'{TEST_PY}: thresh = 0.0'),
        ('model.test_cfg.rcnn.nms.iou_threshold', 0.3, f'{CRDA_CFG}: TEST.NMS'),
        ('model.test_cfg.rcnn.max_per_img', 100, f'{TEST_PY}: max_per_image = 100'),
    ]


CAFFE = [
    ('model.data_preprocessor.mean', [102.9801, 115.9465, 122.7717], f'{CRDA_CFG}: PIXEL_MEANS'),
    ('model.data_preprocessor.std', [1.0, 1.0, 1.0], f'{CRDA_CFG}: mean subtraction only'),
    ('model.data_preprocessor.bgr_to_rgb', False, f'{CRDA_CFG}: BGR (caffe) input'),
]
VGG = SCHEDULE + CAFFE + detector(DA_TRAIN) + [
    ('model.backbone.init_cfg.checkpoint', Basename('vgg16_caffe.pth'),
     f'{CRDA} */train_cityscape.sh --pretrained_path'),
    ('model.backbone.frozen_stages', 2, f'{VGG_PY}: features[:10] (conv1, conv2) frozen'),
    ('model.backbone.out_layers[-1]', 30, f'{VGG_PY}: features[:-1], no last max-pool'),
    ('model.roi_head.bbox_head.fc_out_channels', 4096, f'{VGG_PY}: RCNN_top = vgg.classifier'),
    ('model.roi_head.bbox_head.dropout', 0.5, f'{VGG_PY}: classifier[:-1] keeps Dropout()'),
    ('model.roi_head.bbox_head.fc_init.keys', ['classifier.0', 'classifier.3'],
     f'{VGG_PY}: fc6/fc7 from the ImageNet classifier'),
    ('model.roi_head.bbox_head.fc_init.checkpoint', Basename('vgg16_caffe.pth'),
     f'{VGG_PY}: the same checkpoint'),
    ('model.train_cfg.rpn.sampler.num', 256, f'{VGG_YML}: RPN_BATCHSIZE'),
    ('model.train_cfg.rpn_proposal.nms_pre', 12000, f'{CRDA_CFG}: TRAIN.RPN_PRE_NMS_TOP_N'),
    ('model.train_cfg.rpn_proposal.max_per_img', 2000, f'{CRDA_CFG}: TRAIN.RPN_POST_NMS_TOP_N'),
    ('model.train_cfg.rpn_proposal.nms.iou_threshold', 0.7, f'{VGG_YML}: RPN_NMS_THRESH'),
    ('model.test_cfg.rpn.nms_pre', 6000, f'{CRDA_CFG}: TEST.RPN_PRE_NMS_TOP_N'),
    ('model.train_cfg.rcnn.sampler.num', 256, f'{VGG_YML}: TRAIN.BATCH_SIZE'),
    ('model.roi_head.bbox_roi_extractor.roi_layer.output_size', 7, f'{CRDA_CFG}: POOLING_SIZE'),
    ('model.roi_head.bbox_roi_extractor.roi_layer.aligned', False,
     f'{CRDA} DA_Faster_ICR_CCR/lib/model/roi_layers (legacy ROIAlign)'),
    ('optim_wrapper.optimizer.weight_decay', 5e-4, f'{CRDA_CFG}: TRAIN.WEIGHT_DECAY'),
    ('optim_wrapper.paramwise_cfg.bias_lr_mult', 2.0, f'{CRDA_CFG}: TRAIN.DOUBLE_BIAS True'),
]
CLIP10 = [('optim_wrapper.clip_grad.max_norm', 10.0,
           f'{DA_TRAIN}: clip_gradient(fasterRCNN, 10.0) for vgg16')]
NO_CLIP = [('optim_wrapper.clip_grad', None, f'{SW_TRAIN}: no gradient clipping')]
DA_SCALES = [
    ('train_dataloader.dataset.datasets[0].pipeline[Resize].scale', [1200, 600],
     f'{VGG_YML}: TRAIN.MAX_SIZE 1200; {CRDA_CFG}: TRAIN.SCALES (600,)'),
    ('train_dataloader.dataset.datasets[1].pipeline[Resize].scale', [1200, 600],
     f'{VGG_YML}: TRAIN.MAX_SIZE 1200; {CRDA_CFG}: TRAIN.SCALES (600,)'),
    ('test_dataloader.dataset.pipeline[Resize].scale', [1000, 600],
     f'{CRDA_CFG}: TEST.SCALES (600,), TEST.MAX_SIZE 1000'),
]
SW_LOCAL = [
    ('model.backbone.out_layers[0]', 14, f'{CRDA} SW_Faster_ICR_CCR/lib/model/'
     'da_faster_rcnn_instance_da_weight/vgg16.py: RCNN_base1 = features[:14] (conv3_2)'),
    ('model.local_da.feats', 'backbone.0', f'{SW_TRAIN}: netD_pixel(RCNN_base1(x))'),
    ('model.local_da.in_channels', 256, f'{SW_TRAIN}: conv3_2 has 256 channels'),
    ('model.sw_context.sources', ['local_da', 'global_da'], f'{CRDA} SW train_*.sh --lc --gc'),
    ('model.sw_context.ins_da', True, f'{CRDA} SW train_*.sh --da_use_contex'),
]
CCR = [('model.ccr.lam', 1.0, f'{DA_TRAIN}: --instance_weight_value 1.0')]
R101_C4 = SCHEDULE + CAFFE + detector(SW_TRAIN) + DA_BATCH + NO_CLIP + [
    ('model.backbone.depth', 101, f'{CRDA} SW_Faster_ICR_CCR/train_clipart.sh --net res101'),
    ('model.backbone.init_cfg.checkpoint', Basename('resnet101_caffe.pth'),
     f'{CRDA} SW_Faster_ICR_CCR/train_clipart.sh --pretrained_path'),
    ('model.backbone.style', 'caffe', f'{RES_PY}: caffe ResNet-101'),
    ('model.backbone.frozen_stages', 0, f'{RES_PY}: only conv1/bn1 frozen (FIXED_BLOCKS off)'),
    ('model.backbone.norm_eval', True, f'{RES_PY}: set_bn_fix / BatchNorm eval'),
    ('model.backbone.out_indices', [0, 2], f'{RES_PY}: RCNN_base1 ends at layer1, base2 layer3'),
    ('model.roi_head.shared_head.depth', 101, f'{RES_PY}: RCNN_top = resnet101.layer4'),
    ('model.roi_head.shared_head.init_cfg.checkpoint', Basename('resnet101_caffe.pth'),
     f'{RES_PY}: layer4 of the same pretrained ResNet-101'),
    ('model.train_cfg.rcnn.sampler.num', 128, f'{RES_YML}: TRAIN.BATCH_SIZE 128'),
    ('model.roi_head.bbox_roi_extractor.roi_layer.output_size', 7, f'{RES_YML}: POOLING_SIZE 7'),
    ('optim_wrapper.optimizer.weight_decay', 1e-4, f'{RES_YML}: WEIGHT_DECAY 0.0001'),
    ('optim_wrapper.paramwise_cfg.bias_lr_mult', 1.0, f'{RES_YML}: DOUBLE_BIAS False'),
    ('model.local_da.feats', 'backbone.0', f'{RES_PY}: netD_pixel on RCNN_base1 (layer1)'),
    ('model.local_da.in_channels', 256, f'{RES_PY}: layer1 has 256 channels'),
    ('model.global_da.feats', 'backbone.1', f'{RES_PY}: netD on RCNN_base2 (layer3)'),
    ('model.ins_da.in_channels', 2048 + 256, f'{RES_PY}: feat_d 2048 + 128 (lc) + 128 (gc)'),
    ('model.sw_context.sources', ['local_da', 'global_da'], f'{CRDA} train_clipart.sh --lc --gc'),
    ('train_dataloader.dataset.datasets[0].datasets[*].ann_file',
     ['VOC2007/ImageSets/Main/trainval.txt', 'VOC2012/ImageSets/Main/trainval.txt'],
     f'{SW_TRAIN}: voc_2007_trainval + voc_2012_trainval'),
    ('train_dataloader.dataset.datasets[0].datasets[0].pipeline[Resize].scale', [1200, 600],
     f'{RES_YML}: MAX_SIZE 1200; {CRDA_CFG}: SCALES (600,)'),
    ('test_dataloader.dataset.pipeline[Resize].scale', [1000, 600],
     f'{RES_YML}: TEST.MAX_SIZE 1000'),
] + CCR

CITY = 'configs/cr_da/{}_faster-rcnn_vgg16_c5_120k_cityscapes-to-foggy.py'
CR_DA = {
    CITY.format('da-faster-icr-ccr'): VGG + DA_BATCH + CLIP10 + DA_SCALES + CCR,
    CITY.format('da-faster'): VGG + DA_BATCH + CLIP10 + DA_SCALES,
    CITY.format('sw-faster-icr-ccr'): VGG + DA_BATCH + NO_CLIP + DA_SCALES + SW_LOCAL + CCR,
    CITY.format('sw-faster'): VGG + DA_BATCH + NO_CLIP + DA_SCALES + SW_LOCAL,
    'configs/cr_da/source-only_faster-rcnn_vgg16_c5_120k_cityscapes-to-foggy.py': VGG + CLIP10 + [
        ('train_dataloader.batch_size', 1, f'{DA_TRAIN}: --bs 1 (source images only)'),
        ('train_dataloader.dataset.pipeline[Resize].scale', [1200, 600],
         f'{VGG_YML}: TRAIN.MAX_SIZE 1200'),
        ('test_dataloader.dataset.pipeline[Resize].scale', [1000, 600],
         f'{CRDA_CFG}: TEST.MAX_SIZE 1000')],
    'configs/cr_da/oracle_faster-rcnn_vgg16_c5_120k_cityscapes-to-foggy.py': VGG + CLIP10,
    'configs/cr_da/da-faster-icr-ccr_faster-rcnn_vgg16_c5_120k_sim10k-to-cityscapes.py':
        VGG + DA_BATCH + CLIP10 + CCR + [
            (f'train_dataloader.dataset.datasets[{i}].pipeline[Resize].scale', [1600, 800],
             f'{DA_TRAIN}: sim10k TRAIN.SCALES (800,), TRAIN.MAX_SIZE 1600') for i in (0, 1)] + [
            ('test_dataloader.dataset.pipeline[Resize].scale', [1600, 800],
             f'{DA_TRAIN}: sim10k TEST.SCALES (800,), TEST.MAX_SIZE 1600')],
    'configs/cr_da/sw-faster-icr-ccr_faster-rcnn_r101-caffe_c4_120k_voc-to-clipart.py':
        R101_C4 + [
            ('model.roi_head.bbox_head.num_classes', 20, f'{SW_TRAIN}: clipart, 20 VOC classes'),
            ('train_dataloader.dataset.datasets[1].ann_file', 'clipart/ImageSets/Main/trainval.txt',
             f'{SW_TRAIN}: t_imdb_name = "clipart_trainval"'),
            ('test_dataloader.dataset.ann_file', 'clipart/ImageSets/Main/trainval.txt',
             f'{SW_TRAIN}: t_imdbtest_name = "clipart_trainval"')],
    'configs/cr_da/sw-faster-icr-ccr_faster-rcnn_r101-caffe_c4_120k_voc-to-watercolor.py':
        R101_C4 + [
            ('model.roi_head.bbox_head.num_classes', 6, f'{SW_TRAIN}: water, 6 classes'),
            ('train_dataloader.dataset.datasets[1].ann_file', 'watercolor/ImageSets/Main/train.txt',
             f'{SW_TRAIN}: t_imdb_name = "water_train"'),
            ('test_dataloader.dataset.ann_file', 'watercolor/ImageSets/Main/test.txt',
             f'{SW_TRAIN}: t_imdbtest_name = "water_test"')],
}

# -------------------------------------------------------------------------- LVIS recipes
MS_SCALES = [[1333, s] for s in (640, 672, 704, 736, 768, 800)]


def lvis_common(src, epochs, milestones, rfs):
    return [
        ('train_cfg.max_epochs', epochs, src),
        ('param_scheduler[1].milestones', milestones, src),
        ('param_scheduler[0].end', 500, f'{src}: linear warm-up, 500 iterations'),
        ('optim_wrapper.optimizer.lr', 0.02, f'{src}: lr 0.02 for 16 images'),
        ('optim_wrapper.optimizer.weight_decay', 1e-4, src),
        ('train_dataloader.batch_size', 2, f'{src}: 2 images per GPU, 8 GPUs'),
        ('train_dataloader.dataset.type', 'ClassBalancedDataset', src),
        ('train_dataloader.dataset.oversample_thr', rfs, src),
        ('train_dataloader.dataset.dataset.pipeline[RandomChoiceResize].scales', MS_SCALES,
         f'{src}: multi-scale training'),
        ('model.test_cfg.rcnn.score_thr', 1e-4, src),
        ('model.test_cfg.rcnn.max_per_img', 300, src),
    ]


def droploss(src):
    return [
        ('model.roi_head.bbox_head.type', 'GumbelBBoxHead', f'{src}: use_classif gumbel'),
        ('model.roi_head.bbox_head.loss_cls.type', 'DropLoss', src),
        ('model.roi_head.bbox_head.loss_cls.freq_thr', 0.0011, f'{src}: lambda_=0.0011'),
        ('model.roi_head.bbox_head.loss_cls.num_images_from', 'annotated',
         'kostas1515/AGLU mmdetection_v3.2/mmdet/utils/lvis_v1_0_categories.py: image_count / '
         '#images with annotations (99,388)'),
    ]


AGLU = lvis_common(AGLU_R50, 24, [16, 22], 1e-3) + droploss(AGLU_R50) + [
    ('model.backbone.type', 'SEResNetAGLU', f'{AGLU_R50}: SE_ResNet use_gumbel=True'),
    ('model.backbone.frozen_stages', 1, f'{AGLU_R50}: mmdet mask-rcnn_r50_fpn base'),
    ('model.backbone.norm_eval', True, f'{AGLU_R50}: mmdet mask-rcnn_r50_fpn base'),
    ('model.test_cfg.rcnn.nms.iou_threshold', 0.3, AGLU_R50),
    ('model.test_cfg.rcnn.mask_thr_binary', 0.4, AGLU_R50),
]
LVIS = {
    'configs/lvis/eqlv2_mask-rcnn_r50_fpn_ms-1x_lvis-v1.py':
        lvis_common(EQL_BASE, 12, [8, 11], 0.0) + [
            ('train_dataloader.dataset.oversample_thr', 0.0,
             f'{EQL} configs/end2end/mask_rcnn_r50_8x2_1x.py: oversample_thr=0.0'),
            ('train_cfg.val_interval', 12,
             f'{EQL} configs/end2end/mask_rcnn_r50_sample1e-3_8x2_1x.py: evaluation interval 12'),
            ('model.roi_head.mask_head.predictor_cfg.type', 'Conv', f'{EQL_BASE}: FCNMaskHead'),
            ('model.roi_head.bbox_head.loss_cls.type', 'EQLV2FixedLoss', f'{EQL_CFG}: EQLv2'),
            ('model.roi_head.bbox_head.loss_cls.gamma', 12, f'{EQL} mmdet/models/losses/eqlv2.py'),
            ('model.roi_head.bbox_head.loss_cls.mu', 0.8, f'{EQL} mmdet/models/losses/eqlv2.py'),
            ('model.roi_head.bbox_head.loss_cls.alpha', 4.0, f'{EQL} mmdet/models/losses/eqlv2.py'),
            ('model.test_cfg.rcnn.nms.iou_threshold', 0.5, f'{EQL_BASE}: mmdet default'),
            ('model.test_cfg.rcnn.mask_thr_binary', 0.5, f'{EQL_BASE}: mmdet default'),
            ('model.backbone.init_cfg.checkpoint', 'torchvision://resnet50', EQL_BASE)],
    'configs/lvis/gumbel-droploss_mask-rcnn_se-r50-aglu_fpn_sample1e-3_ms-2x_lvis-v1.py': AGLU + [
        ('model.backbone.depth', 50, AGLU_R50),
        ('model.backbone.init_cfg.checkpoint', Basename('se-r50-aglu_imagenet_converted.pth'),
         f'{AGLU_R50}: imagenet_full_se_r50_..._99.pth, converted by '
         'tools/model_converters/se_resnet_aglu_to_hce.py'),
        ('model.roi_head.mask_head.predictor_cfg.type', 'NormedConv2dLearnableTemp',
         f'{AGLU_R50}: NormedConv2d learnable_temp=True'),
        ('model.roi_head.mask_head.predictor_cfg.temperature_init', 4.5,
         'kostas1515/AGLU mmdetection_v3.2/mmdet/models/layers/normed_predictor.py: '
         'learnable_init_value 4.5'),
        ('model.roi_head.mask_head.upsample_cfg',
         dict(type='carafe', scale_factor=2, up_kernel=5, up_group=1, encoder_kernel=3,
              encoder_dilation=1, compressed_channels=64), AGLU_R50)],
    'configs/lvis/gumbel-droploss_mask-rcnn_se-r101-aglu_fpn_sample1e-3_ms-2x_lvis-v1.py': [
        (k, v, s.replace(AGLU_R50, AGLU_R101)) for k, v, s in AGLU] + [
        ('model.backbone.depth', 101, AGLU_R101),
        ('model.backbone.init_cfg.checkpoint', Basename('se-r101-aglu_imagenet_converted.pth'),
         f'{AGLU_R101}: imagenet_full_se_r101_..._softplus_99, converted'),
        ('model.roi_head.mask_head.predictor_cfg', dict(type='NormedConv2d', tempearture=20),
         AGLU_R101),
        ('model.roi_head.mask_head.upsample_cfg', dict(type='deconv', scale_factor=2),
         f'{AGLU_R101}: mmdet FCNMaskHead default')],
    'configs/lvis/gumbel-droploss_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py':
        lvis_common(GOL_R50, 24, [16, 22], 1e-3) + droploss(GOL_R50) + [
            ('model.backbone.type', 'ResNet', GOL_R50),
            ('model.test_cfg.rcnn.nms.iou_threshold', 0.3, GOL_R50),
            ('model.test_cfg.rcnn.mask_thr_binary', 0.5, GOL_R50),
            ('model.roi_head.mask_head.predictor_cfg', dict(type='NormedConv2d', tempearture=20),
             GOL_R50)],
    'configs/lvis/seesaw_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py':
        lvis_common(MMDET_SEESAW, 24, [16, 22], 1e-3) + [
            ('model.roi_head.bbox_head.loss_cls.p', 0.8, MMDET_SEESAW),
            ('model.roi_head.bbox_head.loss_cls.q', 2.0, MMDET_SEESAW),
            ('model.roi_head.bbox_head.cls_predictor_cfg',
             dict(type='NormedLinear', tempearture=20), MMDET_SEESAW),
            ('model.roi_head.mask_head.predictor_cfg', dict(type='NormedConv2d', tempearture=20),
             MMDET_SEESAW),
            ('model.test_cfg.rcnn.nms.iou_threshold', 0.5, MMDET_SEESAW)],
    'configs/lvis/softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py':
        lvis_common(MMDET_LVIS, 12, [8, 11], 1e-3) + [
            ('model.roi_head.bbox_head.loss_cls.type', 'CrossEntropyLoss', MMDET_LVIS),
            ('model.test_cfg.rcnn.nms.iou_threshold', 0.5, MMDET_LVIS),
            ('model.backbone.init_cfg.checkpoint', 'torchvision://resnet50', MMDET_LVIS)],
    'configs/lvis/softmax-ce_mask-rcnn_r101_fpn_sample1e-3_ms-1x_lvis-v1.py':
        lvis_common(MMDET_LVIS.replace('r50', 'r101'), 12, [8, 11], 1e-3) + [
            ('model.backbone.depth', 101, MMDET_LVIS.replace('r50', 'r101')),
            ('model.backbone.init_cfg.checkpoint', 'torchvision://resnet101',
             MMDET_LVIS.replace('r50', 'r101'))],
}
RECIPES = {**CR_DA, **LVIS}


# ----------------------------------------------------------------------------- resolver
_MISSING = object()


def resolve(cfg, key):
    """``cfg`` value at ``key`` (syntax in the module docstring); _MISSING if absent."""
    return _walk(cfg, re.findall(r'[^.\[\]]+|\[[^\]]+\]', key))


def _walk(node, parts):
    if not parts:
        return node
    part, rest = parts[0], parts[1:]
    if part.startswith('['):
        sel = part[1:-1]
        if not isinstance(node, (list, tuple)):
            return _MISSING
        if sel == '*':
            values = [_walk(item, rest) for item in node]
            return _MISSING if any(v is _MISSING for v in values) else values
        if re.fullmatch(r'-?\d+', sel):
            i = int(sel)
            return _walk(node[i], rest) if -len(node) <= i < len(node) else _MISSING
        return _walk(next((s for s in node if isinstance(s, dict) and s.get('type') == sel),
                          _MISSING), rest)
    if not isinstance(node, dict) or part not in node:
        return _MISSING
    return _walk(node[part], rest)


def plain(v):
    """Config values to plain Python (ConfigDict -> dict, tuple -> list)."""
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def check(path, load_cfg):
    cfg = load_cfg(path).to_dict()
    wrong = []
    for key, expected, source in RECIPES[path]:
        got = resolve(cfg, key)
        got = None if got is _MISSING and expected is None else got
        ok = (expected.matches(got) if isinstance(expected, Basename)
              else got is not _MISSING and plain(got) == plain(expected))
        if not ok:
            wrong.append(f'{key} = {"<missing>" if got is _MISSING else plain(got)!r}, '
                         f'reference {expected!r} ({source})')
    return wrong


# -------------------------------------------------------------------------------- tests
@pytest.mark.parametrize('path', sorted(RECIPES), ids=osp.basename)
def test_config_reproduces_its_reference(path, load_cfg):
    assert osp.isfile(osp.join(ROOT, path)), path
    wrong = check(path, load_cfg)
    assert not wrong, f'{path} departs from its reference:\n  ' + '\n  '.join(wrong)


def test_resolver():
    cfg = dict(a=dict(b=[dict(type='X', v=1), dict(type='Y', v=(2, 3))]), n=None)
    assert resolve(cfg, 'a.b[Y].v') == (2, 3) and resolve(cfg, 'a.b[0].v') == 1
    assert resolve(cfg, 'a.b[*].type') == ['X', 'Y'] and resolve(cfg, 'a.b[-1].type') == 'Y'
    assert resolve(cfg, 'a.c') is _MISSING and resolve(cfg, 'a.b[Z].v') is _MISSING
    assert resolve(cfg, 'a.b[5]') is _MISSING


def test_every_config_naming_a_reference_is_checked_and_documented():
    """A config whose header names its reference ("Reference:" / "Reference recipe:") has its
    values checked here; every config checked here has its section in docs/RECIPES.md."""
    import glob
    recipes_md = open(osp.join(ROOT, 'docs/RECIPES.md')).read()
    for path in sorted(glob.glob(osp.join(ROOT, 'configs/cr_da/*.py')) +
                       glob.glob(osp.join(ROOT, 'configs/lvis/*_lvis-v1.py'))):
        rel = osp.relpath(path, ROOT)
        header = ' '.join(' '.join(line.lstrip('#') for line in open(path)
                                   if line.startswith('#')).split())
        if re.search(r'\bReference( recipe)?:', header):
            assert rel in RECIPES, f'{rel} names a reference but its values are not checked here'
    for rel in RECIPES:
        assert osp.basename(rel) in recipes_md, f'{rel} has no section in docs/RECIPES.md'


def test_lvis_class_statistics_follow_the_train_dataset(load_cfg):
    """Item 9: the frequency-aware losses read the train dataset's json (TrainAnnFileHook), not
    a path fixed in the config."""
    for path in ('configs/lvis/gumbel-droploss_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py',
                 'configs/lvis/federated_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py',
                 'configs/lvis/apa-droploss_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py'):
        cfg = load_cfg(path)
        assert cfg.model.roi_head.bbox_head.loss_cls.ann_file == 'train_dataset', path
        assert dict(type='TrainAnnFileHook') in cfg.custom_hooks, path
