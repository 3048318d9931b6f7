# DA / CR components for VGG16 (conv5_3 = backbone.1, 512 ch; conv3_2 = backbone.0, 256 ch, the
# SW-Faster local-discriminator input features[:14]; 4096-d box head), defaults from CR-DA-DET:
# GRL 0.1 and loss weight 0.1 for DA-Faster,
# GRL 1.0 and 0.5-weighted local/global losses for SW-Faster; instance DA GRL 0.1, weight 0.1.
img_da = dict(type='ImageDomainDiscriminator', in_channels=512, feats='backbone.1')
ins_da = dict(type='InstanceDomainDiscriminator', in_channels=4096)
icr = dict(type='ImageCategoryClassifier', in_channels=512, num_classes=8, feats='backbone.1')
# SW-Faster code initialises its ICR conv with PyTorch's default (DA-Faster code: N(0, 0.01))
sw_icr = dict(icr, init_std=None)
# VGG16 netD_pixel of the reference: ReLU on the feature it reads, PyTorch default init
local_da = dict(type='LocalDomainDiscriminator', in_channels=256, feats='backbone.0',
                input_relu=True, init_std=None)
global_da = dict(type='GlobalDomainDiscriminator', in_channels=512, feats='backbone.1')
