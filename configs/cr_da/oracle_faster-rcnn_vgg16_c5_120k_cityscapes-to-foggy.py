# Target oracle: Faster R-CNN VGG16 trained on Foggy Cityscapes train *with* labels (recipe of
# the source-only config).
_base_ = './source-only_faster-rcnn_vgg16_c5_120k_cityscapes-to-foggy.py'
train_dataloader = dict(dataset=dict(ann_file='annotations/foggy_cityscapes_da_train.json'))
