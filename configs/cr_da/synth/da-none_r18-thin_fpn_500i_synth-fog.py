# Control: the two-domain batches with every DA component off. Target images only pass through
# the backbone (BatchNorm sees both domains); no loss reads them. Separates the BN effect from
# the adversarial alignment.
_base_ = '../_base_/synth_fog_proxy.py'
model = dict(type='DAFasterRCNN')
