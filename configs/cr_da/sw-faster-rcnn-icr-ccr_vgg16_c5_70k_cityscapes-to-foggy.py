# SW-Faster + ICR + CCR (CR-DA, CVPR 2020), VGG16, Cityscapes -> Foggy.
# SW-Faster context vectors (local + global, 128-d each) feed the box head and, detached, the
# instance discriminator (SW-Faster --lc --gc, CR-DA-DET --da_use_contex).
_base_ = [
    './_base_/faster-rcnn_vgg16_c5.py',
    '../_base_/datasets/cityscapes_to_foggy_da.py',
    './_base_/schedule_da_70k.py',
    './_base_/da_modules_vgg16.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(type='DAFasterRCNN',
             roi_head=dict(type='SWContextRoIHead', context_channels=256),
             local_da={{_base_.local_da}}, global_da={{_base_.global_da}},
             ins_da=dict(type='InstanceDomainDiscriminator', in_channels=4096 + 256),
             sw_context=dict(sources=['local_da', 'global_da'], ins_da=True),
             icr={{_base_.sw_icr}}, ccr=dict(lam=1.0))
