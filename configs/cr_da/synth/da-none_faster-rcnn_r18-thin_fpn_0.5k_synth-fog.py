# Control: the two-domain batches with every DA component off. Target images only pass through
# the backbone (BatchNorm sees both domains); no loss reads them. Separates the BN effect from
# the adversarial alignment. With the default domain_forward='separate' the target images have
# their own forward: BatchNorm's running statistics (used at test time) mix both domains, the
# source images' batch statistics do not ('joint' would normalise both domains together).
_base_ = '../_base_/synth_fog_proxy.py'
model = dict(type='DAFasterRCNN')
