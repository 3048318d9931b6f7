# Everything but the data of the SW-Faster + ICR + CCR ResNet-101 C4 configs (PASCAL VOC 07+12 ->
# Clipart1k / Watercolor2k; CR-DA-DET SW_Faster_ICR_CCR/train_clipart.sh, da_train_net.py --gc --lc
# --da_use_contex, cfgs/res101.yml). A config adds its dataset base and its class count
# (`model.roi_head.bbox_head.num_classes`, `model.icr.num_classes`).
# Model: faster-rcnn_r101-caffe_c4.py (caffe ResNet-101, layer4 shared head of the same weights);
# local discriminator on layer1 (backbone.0, 256 ch), global discriminator and ICR on layer3
# (backbone.1, 1024 ch); SW-Faster context vectors (local + global, 128-d each) feed the box
# classifier/regressor (2048 + 256) and, detached, the instance discriminator.
# Schedule: schedule_da_120k.py (120k, x0.1 at 50k and 110k, no warm-up) with res101.yml's
# weight decay 1e-4 and DOUBLE_BIAS False (bias lr x1, no bias decay); no gradient clipping (SW
# trainer).
_base_ = [
    './faster-rcnn_r101-caffe_c4.py',
    './schedule_da_120k.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
optim_wrapper = dict(optimizer=dict(weight_decay=1e-4),
                     paramwise_cfg=dict(bias_lr_mult=1.0, bias_decay_mult=0.0))
model = dict(
    type='DAFasterRCNN',
    roi_head=dict(type='SWContextRoIHead', context_channels=256),
    local_da=dict(type='LocalDomainDiscriminator', in_channels=256, feats='backbone.0'),
    global_da=dict(type='GlobalDomainDiscriminator', in_channels=1024, feats='backbone.1'),
    ins_da=dict(type='InstanceDomainDiscriminator', in_channels=2048 + 256),
    sw_context=dict(sources=['local_da', 'global_da'], ins_da=True),
    icr=dict(type='ImageCategoryClassifier', in_channels=1024, feats='backbone.1', init_std=None),
    ccr=dict(lam=1.0))
