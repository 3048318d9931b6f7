# LVIS v1 Mask R-CNN R50-FPN, 1x, baseline softmax-CE box classifier; base of every LVIS config:
# RFS (ClassBalancedDataset, oversample_thr=1e-3) and multi-scale training from mmdet's LVIS config,
# LVIS test settings (score_thr=1e-4, 300 detections per image), normalized mask head
# (NormedConv2d, temperature 20, as mmdet's seesaw "normed-mask" configs) and FasterLVISMetric
# (bbox + segm AP/APr/APc/APf on faster-coco-eval). Needs data/lvis_v1/ (COCO 2017 images +
# LVIS v1 json).
# Reference recipe: mmdet 3.3 configs/lvis/mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py (target
# 22.5 box AP / 21.7 mask AP, mmdet metafile); deliberate difference: the normalised mask conv
# (the other LVIS configs compare heads on it; the reference recipe's plain conv: predictor_cfg
# type 'Conv', as in eqlv2_mask-rcnn_r50_fpn_ms-1x_lvis-v1.py). docs/RECIPES.md.
_base_ = 'mmdet::lvis/mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py'
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(
    roi_head=dict(mask_head=dict(predictor_cfg=dict(type='NormedConv2d', tempearture=20))),
    test_cfg=dict(rcnn=dict(score_thr=0.0001, max_per_img=300)))
val_evaluator = dict(type='FasterLVISMetric', metric=['bbox', 'segm'])
test_evaluator = val_evaluator
# Image counts for the frequency-aware losses (DropLoss, FederatedLoss) come from the training
# dataset's own json: 'train_dataset' is filled in by TrainAnnFileHook before training, so any
# data_root / ann_file override of train_dataloader also moves the class statistics.
lvis_train_ann = 'train_dataset'
custom_hooks = [dict(type='TrainAnnFileHook')]
