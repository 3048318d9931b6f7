# SW-Faster + ICR + CCR with ResNet-101 C4 (the reference backbone for PASCAL VOC -> Clipart1k),
# 20 classes; ICR / global SW on C4 (backbone.0 = layer3, 1024 ch), local SW on layer1 is not
# exposed by the C4 backbone, so it reads C4 as well (documented deviation). Box head input to
# fc_cls: 2048-d (layer4 shared head + avg pool). Data layout in
# configs/_base_/datasets/voc_to_clipart_da.py; 120k iterations.
# SW-Faster context vectors (local + global, 128-d each) feed the box head and, detached, the
# instance discriminator (SW-Faster --lc --gc, CR-DA-DET --da_use_contex).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50-caffe-c4.py',
    '../_base_/datasets/voc_to_clipart_da.py',
    './_base_/schedule_da_70k.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
max_iters = 120000
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[60000],
         gamma=0.1),
]
model = dict(
    type='DAFasterRCNN',
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained',
                                           checkpoint='open-mmlab://detectron2/resnet101_caffe')),
    roi_head=dict(type='SWContextRoIHead', context_channels=256,
                  bbox_head=dict(num_classes=20)),
    local_da=dict(type='LocalDomainDiscriminator', in_channels=1024, feats='backbone.0'),
    global_da=dict(type='GlobalDomainDiscriminator', in_channels=1024, feats='backbone.0'),
    ins_da=dict(type='InstanceDomainDiscriminator', in_channels=2048 + 256),
    sw_context=dict(sources=['local_da', 'global_da'], ins_da=True),
    icr=dict(type='ImageCategoryClassifier', in_channels=1024, num_classes=20, feats='backbone.0',
             init_std=None),
    ccr=dict(lam=1.0))
