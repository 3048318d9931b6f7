# The built-in long-tailed split evaluated the LVIS way (FasterLVISMetric: AP, APr, APc, APf).
# lt_val.json is balanced and its own `frequency` fields come from val counts, so the r/c/f groups
# are taken from the training file (as LVIS val files carry training frequencies).
_base_ = './synth_lt.py'
lt_train_ann_file = 'data/hce_synth/annotations/lt_train.json'
val_evaluator = dict(
    _delete_=True, type='FasterLVISMetric', ann_file='data/hce_synth/annotations/lt_val.json',
    frequency_ann_file=lt_train_ann_file, metric='bbox', classwise=True)
test_evaluator = val_evaluator
