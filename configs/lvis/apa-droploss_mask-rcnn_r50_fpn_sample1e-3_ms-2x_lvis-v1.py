# Learnable APA classifier p = (lam*exp(-kappa*z) + 1)^(-1/lam) (one lam, kappa; init = sigmoid)
# with DropLoss, as the GOL head but with the activation learned (ECCV 2024 APA paper). No
# reference recipe: the learnable APA classifier is described by the paper but not released;
# this config is the softmax-ce 2x recipe with that head (docs/RECIPES.md).
_base_ = './softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py'
model = dict(roi_head=dict(bbox_head=dict(
    type='APABBoxHead',
    cls_activation=dict(type='APAClsAct', lambda_init=1.0, kappa_init=1.0),
    loss_cls=dict(_delete_=True, type='DropLoss', freq_thr=0.0011,
                  ann_file={{_base_.lvis_train_ann}}, num_images_from='annotated'))))
