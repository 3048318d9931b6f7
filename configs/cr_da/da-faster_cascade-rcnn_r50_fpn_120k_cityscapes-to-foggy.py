# DA-Faster (image + instance discriminators, consistency) on Cascade R-CNN, ResNet-50 FPN,
# Cityscapes -> Foggy: the ICR + CCR config without the categorical regularization.
_base_ = './da-faster-icr-ccr_cascade-rcnn_r50_fpn_120k_cityscapes-to-foggy.py'
model = dict(icr=None, ccr=None)
