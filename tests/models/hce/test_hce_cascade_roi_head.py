"""HCECascadeRoIHead inside mmdet's Cascade R-CNN: context features and losses at every stage."""
import pytest
import torch

import hce_det  # noqa: F401
# the shared model/batch builders live beside the standard-head tests
from test_hce_roi_head import SMALL_NECK, SMALL_R18, _batch, _build  # noqa: F401


def _coco_small(load_cfg, path, num_classes=10):
    cfg = load_cfg(path).model
    cfg.backbone.update(SMALL_R18)
    cfg.neck.update(SMALL_NECK)
    heads = cfg.roi_head.bbox_head
    for h in (heads if isinstance(heads, list) else [heads]):
        h.num_classes = num_classes
    if 'mask_head' in cfg.roi_head:
        cfg.roi_head.mask_head.num_classes = num_classes
    # few proposals and RoIs: the test checks the data flow, not accuracy
    cfg.train_cfg.rpn_proposal.max_per_img = 64
    rcnn = cfg.train_cfg.rcnn
    for r in (rcnn if isinstance(rcnn, list) else [rcnn]):
        r.sampler.num = 32
    cfg.test_cfg.rpn.max_per_img = 32
    cfg.test_cfg.rcnn.max_per_img = 10
    return cfg


@pytest.mark.slow
def test_cascade_uses_context_at_every_stage(load_cfg):
    cfg = _coco_small(load_cfg, 'configs/hce/hce_cascade-rcnn_r50_fpn_1x_coco.py')
    model = _build(cfg, init=False)
    head = model.roi_head
    assert len(head.context_roi) == 3 and len(head.context_cls) == 3
    calls = {i: 0 for i in range(3)}
    for i, m in enumerate(head.context_roi):
        m.register_forward_hook(lambda mod, a, o, i=i: calls.__setitem__(i, calls[i] + 1))
    batch = _batch(model, size=96)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    for s in range(3):
        assert f's{s}.loss_ctx_cls' in losses
    assert 'loss_img_cls' in losses
    assert all(c == 1 for c in calls.values()), calls
    model.eval()
    with torch.no_grad():
        res = model.predict(batch['inputs'], batch['data_samples'])
    assert all(c == 2 for c in calls.values()), calls
    assert len(res) == 2
