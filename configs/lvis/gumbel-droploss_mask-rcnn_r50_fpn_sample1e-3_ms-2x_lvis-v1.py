# GOL: fixed Gumbel classifier (logits clamped to [-10, 10], fc_cls init 0.001 / bias -2) trained
# with DropLoss (rare-class negatives dropped below image frequency 0.0011) -- the released AGLU
# LVIS head (kostas1515/AGLU). Image counts are read from the LVIS train json on the first step.
_base_ = './softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='GumbelBBoxHead',
    loss_cls=dict(_delete_=True, type='DropLoss', freq_thr=0.0011,
                  ann_file={{_base_.lvis_train_ann}}))))
