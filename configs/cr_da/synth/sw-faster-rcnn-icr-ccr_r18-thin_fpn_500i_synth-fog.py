# SW-Faster + ICR + CCR on the built-in fog split.
# SW-Faster context vectors (local + global, 128-d each) feed the box head and, detached, the
# instance discriminator (SW-Faster --lc --gc, CR-DA-DET --da_use_contex).
_base_ = '../_base_/synth_fog_proxy.py'
model = dict(type='DAFasterRCNN',
             roi_head=dict(type='SWContextRoIHead', context_channels=256),
             local_da={{_base_.local_da}}, global_da={{_base_.global_da}},
             ins_da=dict(type='InstanceDomainDiscriminator', in_channels=256 + 256,
                         feat_channels=256),
             sw_context=dict(sources=['local_da', 'global_da'], ins_da=True),
             icr={{_base_.sw_icr}}, ccr=dict(lam=1.0))
