# DA-Faster (image + instance discriminators, consistency) on the built-in fog split.
_base_ = '../_base_/synth_fog_proxy.py'
model = dict(type='DAFasterRCNN', img_da={{_base_.img_da}}, ins_da={{_base_.ins_da}},
             consistency=dict(loss_weight=0.1))
