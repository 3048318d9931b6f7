# Sim10k (source, labelled, car only) -> Cityscapes (target, unlabelled), class `car`.
# Layout (data_root = data/):
#   sim10k/JPEGImages/*.jpg, sim10k/annotations/sim10k_car_train.json (COCO JSON, car boxes of
#     the 10k GTA images; convert the VOC XMLs with any VOC->COCO script keeping only `car`)
#   cityscapes/leftImg8bit/{train,val}/...,
#   cityscapes/annotations/cityscapes_da_{train,val}.json (tools/dataset_converters/
#     cityscapes_to_coco_da.py); only the `car` category is read (metainfo classes=('car',)).
# Reference input (CR-DA-DET DA_Faster_ICR_CCR/da_trainval_net.py, dataset "sim10k": set_cfgs
# TRAIN.SCALES (800,), TRAIN.MAX_SIZE 1600, TEST.SCALES (800,), TEST.MAX_SIZE 1600): short side
# 800, max 1600 for training and test; 1 source + 1 target image per step.
dataset_type = 'CocoDataset'
data_root = 'data/'
classes = ('car', )
metainfo = dict(classes=classes)
source_ann = 'sim10k/annotations/sim10k_car_train.json'
target_ann = 'cityscapes/annotations/cityscapes_da_train.json'
val_ann = 'cityscapes/annotations/cityscapes_da_val.json'
backend_args = None
batch_size = 2
source_ratio = [1, 1]
branch_field = ['source', 'target']
train_scale = (1600, 800)
test_scale = (1600, 800)

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
    type=dataset_type, data_root=data_root, metainfo=metainfo, ann_file=source_ann,
    data_prefix=dict(img=''), filter_cfg=dict(filter_empty_gt=True, min_size=1),
    pipeline=source_pipeline, backend_args=backend_args)
target_dataset = dict(
    type=dataset_type, data_root=data_root, metainfo=metainfo, ann_file=target_ann,
    data_prefix=dict(img=''), filter_cfg=dict(filter_empty_gt=False),
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
        type=dataset_type, data_root=data_root, metainfo=metainfo, ann_file=val_ann,
        data_prefix=dict(img=''), test_mode=True, pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(type='VOCPerClassAP50Metric', use_legacy_coordinate=True)
test_evaluator = val_evaluator
