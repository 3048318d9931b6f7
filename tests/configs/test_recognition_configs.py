"""configs/recognition: the LVIS v1 and HCE COCO configs build."""
import glob
import os.path as osp

import pytest

from conftest import ROOT

REAL = sorted(glob.glob(osp.join(ROOT, 'configs/recognition/*lvis-v1.py')) +
              glob.glob(osp.join(ROOT, 'configs/recognition/*hce*coco.py')))


@pytest.mark.slow
@pytest.mark.parametrize('path', REAL, ids=[osp.basename(p) for p in REAL])
def test_real_dataset_configs_build(path):
    import hce_det  # noqa: F401
    from mmdet.registry import MODELS
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    head = model.roi_head.bbox_head
    assert type(head).__name__ == cfg.model.roi_head.bbox_head.type
    assert head.num_classes == (1203 if 'lvis' in path else 80)
