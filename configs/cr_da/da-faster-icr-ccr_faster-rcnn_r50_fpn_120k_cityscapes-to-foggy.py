# DA-Faster + ICR + CCR on ResNet-50 FPN, Cityscapes -> Foggy (ImageNet R50, 8 classes).
# No reference recipe: CR-DA-DET has no FPN detector; data, schedule (mmdet's Faster R-CNN settings
# on the reference's 120k iterations) and DA components: _base_/r50_fpn_cityscapes_to_foggy.py.
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py', './_base_/r50_fpn_cityscapes_to_foggy.py']
model = dict(type='DAFasterRCNN', roi_head=dict(bbox_head=dict(num_classes=8)),
             img_da={{_base_.img_da}}, ins_da={{_base_.ins_da}},
             consistency=dict(loss_weight=0.1), icr={{_base_.icr}}, ccr=dict(lam=1.0))
