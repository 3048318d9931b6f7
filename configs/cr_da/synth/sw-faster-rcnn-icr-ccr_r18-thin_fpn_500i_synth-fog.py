# SW-Faster + ICR + CCR on the built-in fog split.
_base_ = '../_base_/synth_fog_proxy.py'
model = dict(type='DAFasterRCNN', local_da={{_base_.local_da}}, global_da={{_base_.global_da}},
             ins_da={{_base_.ins_da}}, icr={{_base_.icr}}, ccr=dict(lam=1.0))
