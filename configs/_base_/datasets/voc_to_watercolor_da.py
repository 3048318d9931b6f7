# PASCAL VOC 2007+2012 trainval (source) -> Watercolor2k (target), the 6 shared classes (Inoue et al.
# 2018 cross-domain sets). Layout (data_root = data/):
#   VOCdevkit/VOC2007, VOCdevkit/VOC2012 (mmdet's VOC layout) and
#   watercolor/JPEGImages/*.jpg + watercolor/ImageSets/Main/{train,test}.txt (VOC-format annotations).
# Target split as the reference (CR-DA-DET SW_Faster_ICR_CCR/da_train_net.py dataset "water":
# water_train for training, water_test for the test). Clipart1k: voc_to_clipart_da.py.
# Reference schedule input: short side 600, max 1200 (train); 600 / 1000 (test);
# 1 source + 1 target image per step (pipelines and loaders: two_domain_da.py).
_base_ = './two_domain_da.py'
dataset_type = 'VOCDataset'
data_root = 'data/'
target_root = 'watercolor/'
classes = ('bicycle', 'bird', 'car', 'cat', 'dog', 'person')
metainfo = dict(classes=classes, dataset_type='VOC2007')

source_dataset = dict(
    type='ConcatDataset',
    datasets=[
        dict(type=dataset_type, data_root=data_root + 'VOCdevkit/', metainfo=metainfo,
             ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
             data_prefix=dict(sub_data_root=f'VOC{year}/'),
             filter_cfg=dict(filter_empty_gt=True, min_size=1, bbox_min_size=1),
             pipeline=_base_.source_pipeline, backend_args=_base_.backend_args)
        for year in (2007, 2012)
    ])
target_dataset = dict(
    type=dataset_type, data_root=data_root, metainfo=metainfo,
    ann_file=target_root + 'ImageSets/Main/train.txt',
    data_prefix=dict(sub_data_root=target_root), filter_cfg=dict(filter_empty_gt=False),
    pipeline=_base_.target_pipeline, backend_args=_base_.backend_args)
train_dataloader = dict(
    dataset=dict(type='ConcatDataset', datasets=[source_dataset, target_dataset]))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, metainfo=metainfo,
        ann_file=target_root + 'ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root=target_root), test_mode=True,
        pipeline=_base_.test_pipeline, backend_args=_base_.backend_args))
test_dataloader = val_dataloader
