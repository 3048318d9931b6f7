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
# Everything else as cityscapes_to_foggy_da.py.
_base_ = './cityscapes_to_foggy_da.py'
data_root = 'data/'
classes = ('car', )
metainfo = dict(classes=classes)
source_ann = 'sim10k/annotations/sim10k_car_train.json'
target_ann = 'cityscapes/annotations/cityscapes_da_train.json'
val_ann = 'cityscapes/annotations/cityscapes_da_val.json'
train_scale = (1600, 800)
test_scale = (1600, 800)


def _rescaled(pipeline, scale):
    """The base pipeline with its Resize at ``scale``."""
    return [dict(t, scale=scale) if t['type'] == 'Resize' else t for t in pipeline]


source_pipeline = _rescaled(_base_.source_pipeline, train_scale)
target_pipeline = _rescaled(_base_.target_pipeline, train_scale)
test_pipeline = _rescaled(_base_.test_pipeline, test_scale)
source_dataset = dict(_base_.source_dataset, data_root=data_root, metainfo=metainfo,
                      ann_file=source_ann, pipeline=source_pipeline)
target_dataset = dict(_base_.target_dataset, data_root=data_root, metainfo=metainfo,
                      ann_file=target_ann, pipeline=target_pipeline)
train_dataloader = dict(dataset=dict(datasets=[source_dataset, target_dataset]))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo, ann_file=val_ann,
                                   pipeline=test_pipeline))
test_dataloader = val_dataloader
