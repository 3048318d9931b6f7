# SW-Faster + ICR + CCR on ResNet-50 FPN, Cityscapes -> Foggy.
# No reference recipe: CR-DA-DET has no FPN detector; data, schedule (mmdet's Faster R-CNN settings
# on the reference's 120k iterations) and DA components: _base_/r50_fpn_cityscapes_to_foggy.py.
# SW-Faster context vectors (local + global, 128-d each) feed the box head and, detached, the
# instance discriminator (SW-Faster --lc --gc, CR-DA-DET --da_use_contex).
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py', './_base_/r50_fpn_cityscapes_to_foggy.py']
model = dict(type='DAFasterRCNN',
             roi_head=dict(type='SWContextRoIHead', context_channels=256,
                           bbox_head=dict(num_classes=8)),
             local_da={{_base_.local_da}}, global_da={{_base_.global_da}},
             ins_da=dict(type='InstanceDomainDiscriminator', in_channels=1024 + 256),
             sw_context=dict(sources=['local_da', 'global_da'], ins_da=True),
             icr={{_base_.sw_icr}}, ccr=dict(lam=1.0))
