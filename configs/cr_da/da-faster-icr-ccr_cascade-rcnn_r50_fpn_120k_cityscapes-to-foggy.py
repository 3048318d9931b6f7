# DA-Faster + ICR + CCR on Cascade R-CNN, ResNet-50 FPN, Cityscapes -> Foggy (8 classes).
# The image-level terms are those of the Faster R-CNN config; the instance discriminator and CCR
# read the last cascade stage (DAFasterRCNN ins_da_stage=-1: its RoIs are the best localised and
# its classifier gives the final labels; ins_da_stage=0 reads raw RPN proposals instead).
# No reference recipe (CR-DA-DET has no cascade detector): the R50-FPN recipe of
# da-faster-icr-ccr_faster-rcnn_r50_fpn_120k_cityscapes-to-foggy.py
# (_base_/r50_fpn_cityscapes_to_foggy.py) on mmdet's Cascade R-CNN.
_base_ = ['mmdet::_base_/models/cascade-rcnn_r50_fpn.py', './_base_/r50_fpn_cityscapes_to_foggy.py']
# a list replaces the base list: the three mmdet stages, 8 classes each
stage_head = dict(
    type='Shared2FCBBoxHead', in_channels=256, fc_out_channels=1024, roi_feat_size=7,
    num_classes=8, reg_class_agnostic=True,
    loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
model = dict(
    type='DAFasterRCNN',
    roi_head=dict(bbox_head=[
        dict(stage_head, bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                         target_stds=stds))
        for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067])
    ]),
    img_da={{_base_.img_da}}, ins_da={{_base_.ins_da}}, ins_da_stage=-1,
    consistency=dict(loss_weight=0.1), icr={{_base_.icr}}, ccr=dict(lam=1.0))
