# LVIS v1 Mask R-CNN R50-FPN, 1x, baseline softmax-CE box classifier; base of every LVIS config:
# RFS (ClassBalancedDataset, oversample_thr=1e-3) and multi-scale training from mmdet's LVIS config,
# LVIS test settings (score_thr=1e-4, 300 detections per image), normalized mask head
# (NormedConv2d, temperature 20, as mmdet's seesaw "normed-mask" configs) and HceLVISMetric
# (bbox + segm AP/APr/APc/APf on numpy 2). Needs data/lvis_v1/ (COCO 2017 images + LVIS v1 json).
_base_ = 'mmdet::lvis/mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(
    roi_head=dict(mask_head=dict(predictor_cfg=dict(type='NormedConv2d', tempearture=20))),
    test_cfg=dict(rcnn=dict(score_thr=0.0001, max_per_img=300)))
val_evaluator = dict(type='HceLVISMetric', metric=['bbox', 'segm'])
test_evaluator = val_evaluator
# LVIS training json: image counts for the frequency-aware losses (DropLoss, FederatedLoss).
lvis_train_ann = 'data/lvis_v1/annotations/lvis_v1_train.json'
