# Federated loss (Detic): sigmoid BCE on the batch's classes + sampled negatives, 50 classes,
# sampling weight image_count^0.5 (counts from the LVIS train json). No reference recipe: the
# loss follows CenterNet2 / Detic, whose LVIS detectors are not Mask R-CNN R50-FPN; the recipe is
# the softmax-ce 2x one (docs/RECIPES.md).
_base_ = './softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='LongTailBBoxHead', cls_bias_init=-4.6,
    loss_cls=dict(_delete_=True, type='FederatedLoss', num_sample_cats=50, freq_weight_power=0.5,
                  ann_file={{_base_.lvis_train_ann}}))))
