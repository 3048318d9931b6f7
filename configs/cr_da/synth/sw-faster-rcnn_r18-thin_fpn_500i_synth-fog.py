# SW-Faster: strong local (least squares, C2) + weak global (focal gamma 5, C4) alignment,
# GRL 1.0, plus the instance discriminator (weight 0.1) as in CR-DA-DET's SW code.
_base_ = '../_base_/synth_fog_proxy.py'
model = dict(type='DAFasterRCNN', local_da={{_base_.local_da}}, global_da={{_base_.global_da}},
             ins_da={{_base_.ins_da}})
