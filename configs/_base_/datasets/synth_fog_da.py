# Two-domain training on the built-in fog split: labelled clear source images and unlabelled
# foggy target images (beta = 0.02) in every batch; evaluation on the foggy target val split.
# Generate the data with `python tools/make_dataset.py --out data/hce_synth`.
# Batches: `batch_size` images, split source:target by `source_ratio` (GroupMultiSourceSampler);
# change both `train_dataloader.batch_size` and `train_dataloader.sampler.batch_size` together.
# Target samples never load annotations (no LoadAnnotations in their pipeline) and the DA
# detector additionally strips them before computing any loss.
dataset_type = 'SynthScenesDataset'
data_root = 'data/hce_synth/'
source_ann = 'annotations/fog_source_train.json'
target_ann = 'annotations/fog_target_train.json'
val_ann = 'annotations/fog_target_val.json'
backend_args = None
img_scale = (128, 128)
batch_size = 8
source_ratio = [1, 1]
branch_field = ['source', 'target']

source_pipeline = [
    dict(type='LoadImageChecked', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='MultiBranch', branch_field=branch_field, source=dict(type='PackDetInputs')),
]
target_pipeline = [
    dict(type='LoadImageChecked', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='MultiBranch', branch_field=branch_field, target=dict(type='PackDetInputs')),
]
test_pipeline = [
    dict(type='LoadImageChecked', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
source_dataset = dict(
    type=dataset_type, data_root=data_root, ann_file=source_ann, data_prefix=dict(img=''),
    filter_cfg=dict(filter_empty_gt=True, min_size=4), pipeline=source_pipeline,
    backend_args=backend_args)
target_dataset = dict(
    type=dataset_type, data_root=data_root, ann_file=target_ann, data_prefix=dict(img=''),
    filter_cfg=dict(filter_empty_gt=False), pipeline=target_pipeline, backend_args=backend_args)
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='GroupMultiSourceSampler', batch_size=batch_size,
                 source_ratio=source_ratio),
    dataset=dict(type='ConcatDataset', datasets=[source_dataset, target_dataset]))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, ann_file=val_ann, data_prefix=dict(img=''),
        test_mode=True, pipeline=test_pipeline, backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='VOCPerClassAP50Metric', use_legacy_coordinate=False),
    dict(type='FasterCocoMetric', ann_file=data_root + val_ann, metric='bbox', classwise=True,
         format_only=False, backend_args=backend_args),
]
test_evaluator = val_evaluator
