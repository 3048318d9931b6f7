# PASCAL VOC 2007+2012 trainval (source) -> Clipart1k (target), 20 VOC classes (Inoue et al.
# 2018 cross-domain sets). Layout (data_root = data/):
#   VOCdevkit/VOC2007, VOCdevkit/VOC2012 (mmdet's VOC layout) and
#   clipart/JPEGImages/*.jpg + clipart/ImageSets/Main/trainval.txt (VOC-format annotations).
# Target split as the reference (CR-DA-DET SW_Faster_ICR_CCR/da_train_net.py dataset "clipart":
# t_imdb_name = t_imdbtest_name = "clipart_trainval"): all 1,000 Clipart1k images, unlabelled for
# training and labelled for the test (if your copy has only train.txt / test.txt, concatenate
# them into trainval.txt). Everything else as voc_to_watercolor_da.py.
_base_ = './voc_to_watercolor_da.py'
target_root = 'clipart/'
target_train_split = 'ImageSets/Main/trainval.txt'
target_test_split = 'ImageSets/Main/trainval.txt'
classes = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
           'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep',
           'sofa', 'train', 'tvmonitor')
metainfo = dict(classes=classes, dataset_type='VOC2007')

source_dataset = dict(
    _base_.source_dataset,
    datasets=[dict(d, metainfo=metainfo) for d in _base_.source_dataset['datasets']])
target_dataset = dict(_base_.target_dataset, metainfo=metainfo,
                      ann_file=target_root + target_train_split,
                      data_prefix=dict(sub_data_root=target_root))
train_dataloader = dict(dataset=dict(datasets=[source_dataset, target_dataset]))
val_dataloader = dict(dataset=dict(metainfo=metainfo, ann_file=target_root + target_test_split,
                                   data_prefix=dict(sub_data_root=target_root)))
test_dataloader = val_dataloader
