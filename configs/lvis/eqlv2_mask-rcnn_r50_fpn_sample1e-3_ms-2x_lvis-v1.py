# EQLv2 (gamma=12, mu=0.8, alpha=4) through EQLV2FixedLoss: mmdet's EQLV2Loss plus the
# custom_cls_channels flag, so the head scores with sigmoid x (1 - objectness) at test, not softmax.
# Deliberately NOT the EQLv2 reference recipe (that is eqlv2_mask-rcnn_r50_fpn_ms-1x_lvis-v1.py:
# 1x, no RFS, plain mask conv): this variant trains EQLv2 under this package's long-tail protocol
# (2x, RFS 1e-3, normalised mask head, as the GOL / AGLU / Seesaw configs) so that the losses are
# compared on one recipe; no published number matches it.
_base_ = './softmax-ce_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py'
model = dict(roi_head=dict(bbox_head=dict(
    loss_cls=dict(_delete_=True, type='EQLV2FixedLoss', num_classes=1203))))
