# PASCAL VOC 2007+2012 trainval (source) -> Watercolor2k (target), the 6 shared classes (Inoue et al.
# 2018 cross-domain sets). Layout (data_root = data/):
#   VOCdevkit/VOC2007, VOCdevkit/VOC2012 (mmdet's VOC layout) and
#   watercolor/JPEGImages/*.jpg + watercolor/ImageSets/Main/{train,test}.txt (VOC-format annotations).
# Target split as the reference (CR-DA-DET SW_Faster_ICR_CCR/da_train_net.py dataset "water":
# water_train for training, water_test for the test).
# Reference schedule input: short side 600, max 1200 (train); 600 / 1000 (test);
# 1 source + 1 target image per step.
dataset_type = 'VOCDataset'
data_root = 'data/'
target_root = 'watercolor/'
classes = ('bicycle', 'bird', 'car', 'cat', 'dog', 'person')
metainfo = dict(classes=classes, dataset_type='VOC2007')
backend_args = None
batch_size = 2
source_ratio = [1, 1]
branch_field = ['source', 'target']
train_scale = (1200, 600)
test_scale = (1000, 600)

source_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=train_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='MultiBranch', branch_field=branch_field, source=dict(type='PackDetInputs')),
]
target_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=train_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='MultiBranch', branch_field=branch_field, target=dict(type='PackDetInputs')),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=test_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
source_dataset = dict(
    type='ConcatDataset',
    datasets=[
        dict(type=dataset_type, data_root=data_root + 'VOCdevkit/', metainfo=metainfo,
             ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
             data_prefix=dict(sub_data_root=f'VOC{year}/'),
             filter_cfg=dict(filter_empty_gt=True, min_size=1, bbox_min_size=1),
             pipeline=source_pipeline, backend_args=backend_args) for year in (2007, 2012)
    ])
target_dataset = dict(
    type=dataset_type, data_root=data_root, metainfo=metainfo,
    ann_file=target_root + 'ImageSets/Main/train.txt',
    data_prefix=dict(sub_data_root=target_root), filter_cfg=dict(filter_empty_gt=False),
    pipeline=target_pipeline, backend_args=backend_args)
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='GroupMultiSourceSampler', batch_size=batch_size,
                 source_ratio=source_ratio),
    dataset=dict(type='ConcatDataset', datasets=[source_dataset, target_dataset]))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, metainfo=metainfo,
        ann_file=target_root + 'ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root=target_root), test_mode=True, pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(type='VOCPerClassAP50Metric', use_legacy_coordinate=True)
test_evaluator = val_evaluator
