# Synth-LT demo of the full AGLU-APA-GOL recipe at toy scale: SE-ResNet-18 (half width) with AGLU
# activations and APA-gated SE, GOL head (Gumbel + DropLoss).
_base_ = './gumbel-droploss_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(backbone=dict(type='SEResNetAGLU'))
