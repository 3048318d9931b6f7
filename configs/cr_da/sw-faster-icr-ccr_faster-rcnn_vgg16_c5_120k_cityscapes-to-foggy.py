# SW-Faster + ICR + CCR (CR-DA, CVPR 2020), VGG16, Cityscapes -> Foggy Cityscapes.
# Reference: megvii-research/CR-DA-DET SW_Faster_ICR_CCR/train_cityscape.sh (da_train_net.py
# --gc --lc --da_use_contex, cfgs/vgg16.yml); target number: Foggy val mAP50 37.4 (docs/RECIPES.md).
# Recipe: _base_/faster-rcnn_vgg16_c5.py, _base_/schedule_da_120k.py (no gradient clipping in
# the SW trainer); local discriminator on ReLU(conv3_2) = features[:14] (backbone.0), global on
# conv5_3. SW-Faster context vectors (local + global, 128-d each) feed the box head and,
# detached, the instance discriminator. Remaining deliberate differences: docs/RECIPES.md.
# The sw-faster config plus ICR and CCR.
_base_ = './sw-faster_faster-rcnn_vgg16_c5_120k_cityscapes-to-foggy.py'
model = dict(icr={{_base_.sw_icr}}, ccr=dict(lam=1.0))
