# The two-domain pieces every real-data CR-DA dataset shares (CR-DA-DET reference input):
# MultiBranch pipelines (labelled source, unlabelled target: no LoadAnnotations), short side 600 /
# max 1200 for training and 600 / 1000 for the test, 1 source + 1 target image per step
# (GroupMultiSourceSampler over a ConcatDataset [source, target]), VOC AP50 per class.
# A dataset base inherits this file and adds its files and classes: `source_dataset`,
# `target_dataset`, `train_dataloader.dataset` and `val_dataloader.dataset` (see
# cityscapes_to_foggy_da.py, voc_to_watercolor_da.py); the pipelines are `_base_.*_pipeline`.
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
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='GroupMultiSourceSampler', batch_size=batch_size,
                 source_ratio=source_ratio))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='VOCPerClassAP50Metric', use_legacy_coordinate=True)
test_evaluator = val_evaluator
