# SW-Faster + ICR + CCR with ResNet-101 C4, PASCAL VOC 07+12 trainval -> Watercolor2k, 6 classes.
# Reference: megvii-research/CR-DA-DET SW_Faster_ICR_CCR/train_clipart.sh run with --dataset water
# (da_train_net.py --gc --lc --da_use_contex, cfgs/res101.yml); target number: docs/RECIPES.md.
# Model and schedule as the Clipart config: _base_/sw-faster-icr-ccr_r101-caffe_c4_120k.py.
# Data: configs/_base_/datasets/voc_to_watercolor_da.py; target: watercolor train.txt
# for training, test.txt for test (reference water_train / water_test).
# Remaining deliberate differences: docs/RECIPES.md.
_base_ = [
    './_base_/sw-faster-icr-ccr_r101-caffe_c4_120k.py',
    '../_base_/datasets/voc_to_watercolor_da.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=6)), icr=dict(num_classes=6))
