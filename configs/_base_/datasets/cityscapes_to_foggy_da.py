# Cityscapes (source, labelled) -> Foggy Cityscapes beta = 0.02 (target, unlabelled), 8 classes.
# Layout (data_root = the Cityscapes root):
#   leftImg8bit/{train,val}/<city>/*_leftImg8bit.png           (Cityscapes)
#   leftImg8bit_foggy/{train,val}/<city>/*_foggy_beta_0.02.png (Foggy Cityscapes)
#   annotations/{cityscapes,foggy_cityscapes}_da_{train,val}.json, written by
#   `python tools/dataset_converters/cityscapes_to_coco_da.py data/cityscapes`
# Reference schedule input: short side 600, max 1200 (train); 600 / 1000 (test);
# 1 source + 1 target image per step (pipelines and loaders: two_domain_da.py).
_base_ = './two_domain_da.py'
dataset_type = 'CocoDataset'
data_root = 'data/cityscapes/'
classes = ('person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle')
metainfo = dict(classes=classes)
source_ann = 'annotations/cityscapes_da_train.json'
target_ann = 'annotations/foggy_cityscapes_da_train.json'
val_ann = 'annotations/foggy_cityscapes_da_val.json'

source_dataset = dict(
    type=dataset_type, data_root=data_root, metainfo=metainfo, ann_file=source_ann,
    data_prefix=dict(img=''), filter_cfg=dict(filter_empty_gt=True, min_size=1),
    pipeline=_base_.source_pipeline, backend_args=_base_.backend_args)
target_dataset = dict(
    type=dataset_type, data_root=data_root, metainfo=metainfo, ann_file=target_ann,
    data_prefix=dict(img=''), filter_cfg=dict(filter_empty_gt=False),
    pipeline=_base_.target_pipeline, backend_args=_base_.backend_args)
train_dataloader = dict(
    dataset=dict(type='ConcatDataset', datasets=[source_dataset, target_dataset]))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, metainfo=metainfo, ann_file=val_ann,
        data_prefix=dict(img=''), test_mode=True, pipeline=_base_.test_pipeline,
        backend_args=_base_.backend_args))
test_dataloader = val_dataloader
