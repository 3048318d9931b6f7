# Source-only baseline: Faster R-CNN VGG16 trained on Cityscapes train (labelled), tested on
# Foggy Cityscapes val. The CR-DA-DET VGG16 recipe without the DA terms (caffe VGG16, dropout box
# head, _base_/schedule_da_120k.py, gradient clipping at total norm 10 as in the reference
# trainer for VGG16); 1 image per step. CR-DA-DET ships no source-only script: the recipe is
# that of its DA-Faster trainer (docs/RECIPES.md).
_base_ = [
    './_base_/faster-rcnn_vgg16_c5.py',
    '../_base_/datasets/cityscapes_to_foggy_da.py',
    './_base_/schedule_da_120k.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
optim_wrapper = dict(clip_grad=dict(max_norm=10.0, norm_type=2))
train_ann = 'annotations/cityscapes_da_train.json'
train_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
        metainfo={{_base_.metainfo}}, ann_file=train_ann, data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=1),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', scale={{_base_.train_scale}}, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackDetInputs'),
        ]))
