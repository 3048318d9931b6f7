# Target oracle: plain Faster R-CNN trained on the foggy target train split *with* its labels.
_base_ = './faster-rcnn_r18-thin_fpn_500i_synth-fog-source-only.py'
train_dataloader = dict(dataset=dict(ann_file='annotations/fog_target_train.json'))
