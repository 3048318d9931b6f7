# The built-in SynthScenes data, long-tailed split (imbalance 100, LVIS fields r/c/f; the val
# split is balanced so rare classes can be measured). Same pipeline as the context split.
_base_ = './synth_context.py'
train_ann = 'annotations/lt_train.json'
val_ann = 'annotations/lt_val.json'
train_dataloader = dict(dataset=dict(ann_file=train_ann))
val_dataloader = dict(dataset=dict(ann_file=val_ann))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='data/hce_synth/' + val_ann)
test_evaluator = val_evaluator
