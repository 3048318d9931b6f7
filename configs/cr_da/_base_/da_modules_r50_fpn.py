# DA / CR components for ResNet-50 FPN: image DA on every FPN level (256 ch), instance DA on the
# 1024-d box head, ICR and global SW on C4 (backbone.2, 1024 ch, = the reference's ResNet
# base feature), local SW on C2 (backbone.0, 256 ch).
img_da = dict(type='ImageDomainDiscriminator', in_channels=256,
              feats=['neck.0', 'neck.1', 'neck.2', 'neck.3', 'neck.4'])
ins_da = dict(type='InstanceDomainDiscriminator', in_channels=1024)
icr = dict(type='ImageCategoryClassifier', in_channels=1024, num_classes=8, feats='backbone.2')
# SW-Faster code initialises its ICR conv with PyTorch's default (DA-Faster code: N(0, 0.01))
sw_icr = dict(icr, init_std=None)
local_da = dict(type='LocalDomainDiscriminator', in_channels=256, feats='backbone.0')
global_da = dict(type='GlobalDomainDiscriminator', in_channels=1024, feats='backbone.2')
