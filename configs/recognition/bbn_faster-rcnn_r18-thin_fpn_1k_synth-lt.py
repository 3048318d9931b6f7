# BBN bilateral RoI classifier with BBN's dual sampler: every training batch holds the usual
# 8 uniformly sampled images followed by 8 images of the reversed sampler (class c drawn with
# probability ~ n_max / n_c, then an image holding it), and each uniform RoI is mixed with a
# class-reversed partner RoI from the reversed images. Cumulative learning alpha = 1 - (t/T)^2
# over the whole run (CumulativeAlphaHook: t = iteration, T = max_iters, so --iters rescales it).
# `compare.py recognition` row `bbn-rois` is the variant without extra images (partners drawn
# from the batch's own RoIs).
_base_ = './softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='BBNBBoxHead', class_counts_file={{_base_.lt_counts_file}},
    num_reversed_images='half')))
# num_reversed=None: as many reversed images as uniform ones (the batch_size), 'half' above
train_dataloader = dict(batch_sampler=dict(
    _delete_=True, type='ReversedClassBatchSampler', num_reversed=None))
custom_hooks = [dict(type='NumClassCheckHook'), dict(type='CumulativeAlphaHook')]
