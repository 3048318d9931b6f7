# Built-in long-tailed split (imbalance 100, r/c/f groups from lt_train), small Faster R-CNN from
# scratch, softmax-CE classifier: the baseline of the synth-LT long-tail proxy. LVIS test settings
# (score_thr=1e-4, <= 300 detections) and LVIS metrics. Generate data with tools/make_dataset.py.
_base_ = [
    '../_base_/models/faster-rcnn_r18-thin_fpn_synth.py',
    '../_base_/datasets/synth_lt_lvis.py',
    '../_base_/schedules/synth_iter.py',
    '../_base_/synth_runtime.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(test_cfg=dict(rcnn=dict(score_thr=0.0001, max_per_img=300)))
# LVIS's DropLoss threshold 0.0011 (= the r+c boundary, ~100 of 100k training images) translated to
# the 600 training images here: classes with fewer than ~100 images (r and c groups).
synth_freq_thr = 0.17
