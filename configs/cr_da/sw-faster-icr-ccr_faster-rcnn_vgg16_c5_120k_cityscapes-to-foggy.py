# SW-Faster + ICR + CCR (CR-DA, CVPR 2020), VGG16, Cityscapes -> Foggy Cityscapes.
# Reference: megvii-research/CR-DA-DET SW_Faster_ICR_CCR/train_cityscape.sh (da_train_net.py
# --gc --lc --da_use_contex, cfgs/vgg16.yml); target number: Foggy val mAP50 37.4 (docs/RECIPES.md).
# Recipe: _base_/faster-rcnn_vgg16_c5.py, _base_/schedule_da_120k.py (no gradient clipping in
# the SW trainer); local discriminator on ReLU(conv3_2) = features[:14] (backbone.0), global on
# conv5_3. SW-Faster context vectors (local + global, 128-d each) feed the box head and,
# detached, the instance discriminator. Remaining deliberate differences: docs/RECIPES.md.
_base_ = [
    './_base_/faster-rcnn_vgg16_c5.py',
    '../_base_/datasets/cityscapes_to_foggy_da.py',
    './_base_/schedule_da_120k.py',
    './_base_/da_modules_vgg16.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(type='DAFasterRCNN',
             roi_head=dict(type='SWContextRoIHead', context_channels=256),
             local_da={{_base_.local_da}}, global_da={{_base_.global_da}},
             ins_da=dict(type='InstanceDomainDiscriminator', in_channels=4096 + 256),
             sw_context=dict(sources=['local_da', 'global_da'], ins_da=True),
             icr={{_base_.sw_icr}}, ccr=dict(lam=1.0))
