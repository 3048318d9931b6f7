# DA-Faster + ICR (source image-level BCE) + CCR (target instance-loss weights, lambda = 1).
_base_ = '../_base_/synth_fog_proxy.py'
model = dict(type='DAFasterRCNN', img_da={{_base_.img_da}}, ins_da={{_base_.ins_da}},
             consistency=dict(loss_weight=0.1), icr={{_base_.icr}}, ccr=dict(lam=1.0))
