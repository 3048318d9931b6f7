# SW-Faster (local LS on ReLU(conv3_2), global focal gamma 5 on conv5_3, GRL 1) + instance DA,
# VGG16, Cityscapes -> Foggy. Reference: the CR-DA-DET SW trainer
# (SW_Faster_ICR_CCR/da_train_net.py --gc --lc --da_use_contex) without ICR/CCR; same recipe as
# sw-faster-icr-ccr_faster-rcnn_vgg16_c5_120k_cityscapes-to-foggy.py. SW-Faster context vectors
# (local + global, 128-d each) feed the box head and, detached, the instance discriminator.
# Differences: docs/RECIPES.md.
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
             sw_context=dict(sources=['local_da', 'global_da'], ins_da=True))
