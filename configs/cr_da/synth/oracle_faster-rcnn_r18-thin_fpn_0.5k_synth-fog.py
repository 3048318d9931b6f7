# Target oracle: plain Faster R-CNN trained on the foggy target train split *with* its labels.
_base_ = './source-only_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py'
train_dataloader = dict(dataset=dict(ann_file='annotations/fog_target_train.json'))
