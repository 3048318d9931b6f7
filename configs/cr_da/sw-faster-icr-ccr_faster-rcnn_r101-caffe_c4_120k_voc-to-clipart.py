# SW-Faster + ICR + CCR with ResNet-101 C4, PASCAL VOC 07+12 trainval -> Clipart1k, 20 classes.
# Reference: megvii-research/CR-DA-DET SW_Faster_ICR_CCR/train_clipart.sh (da_train_net.py --gc --lc
# --da_use_contex, cfgs/res101.yml); target number: docs/RECIPES.md. Model and schedule (caffe
# ResNet-101 C4, local / global discriminators, ICR, SW-Faster context vectors; 120k with
# res101.yml's weight decay and bias handling, no gradient clipping):
# _base_/sw-faster-icr-ccr_r101-caffe_c4_120k.py.
# Data: configs/_base_/datasets/voc_to_clipart_da.py; target images: clipart
# ImageSets/Main/trainval.txt (all 1,000) for both training and test (reference clipart_trainval).
# Remaining deliberate differences: docs/RECIPES.md.
_base_ = [
    './_base_/sw-faster-icr-ccr_r101-caffe_c4_120k.py',
    '../_base_/datasets/voc_to_clipart_da.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=20)), icr=dict(num_classes=20))
