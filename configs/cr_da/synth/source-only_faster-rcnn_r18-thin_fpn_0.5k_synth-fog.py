# Source-only baseline: plain Faster R-CNN on the clear source split (2 images per step),
# evaluated on the foggy target val split.
_base_ = '../_base_/synth_fog_proxy.py'
train_ann = 'annotations/fog_source_train.json'
train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type={{_base_.dataset_type}}, data_root={{_base_.data_root}}, ann_file=train_ann,
        data_prefix=dict(img=''), filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=[
            dict(type='LoadImageChecked'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackDetInputs'),
        ]))
