"""Every recognition component trains inside a real Faster R-CNN on the built-in data (the alpha
hook: tests/engine/hooks/test_cumulative_alpha.py; the LVIS / HCE configs:
tests/configs/test_recognition_configs.py)."""
import pytest
import torch

pytest.importorskip('mmdet')
from conftest import no_val, point_head_at, shrink_cfg  # noqa: E402

SYNTH = {m: f'configs/recognition/{m}_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
         for m in ('bbn', 'dive', 'ride', 'sc', 'psc', 'mdcs', 'sef')}
EXTRA_LOSS = {'bbn': None, 'dive': 'loss_distill', 'ride': 'loss_diversity',
              'sc': 'loss_contrast', 'psc': 'loss_contrast', 'mdcs': 'loss_consistency',
              'sef': 'loss_group'}


def _train(cfg):
    """Train with a spy hook; returns (runner, {loss name: [values per iteration]})."""
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    seen = {}

    class Spy(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            for k, v in (outputs or {}).items():
                seen.setdefault(k, []).append(float(v))

    runner = Runner.from_cfg(cfg)
    runner.register_hook(Spy())
    runner.train()
    return runner, seen


@pytest.mark.slow
@pytest.mark.parametrize('method', sorted(SYNTH))
def test_component_trains_in_faster_rcnn(method, tiny_data, tmp_path, load_cfg):
    cfg = shrink_cfg(load_cfg(SYNTH[method]), tiny_data, tmp_path, max_iters=2)
    val_loader_cfg = cfg.val_dataloader
    cfg = no_val(point_head_at(cfg, tiny_data, tmp_path))
    runner, seen = _train(cfg)
    assert len(seen['loss_cls']) == 2 and 'loss_bbox' in seen
    assert all(v == v and abs(v) < 1e4 for v in seen['loss_cls'] + seen['loss'])
    extra = EXTRA_LOSS[method]
    if extra:
        assert extra in seen and all(v == v for v in seen[extra])
    # inference goes through the component: softmax scores of its logits
    from mmengine.runner import Runner
    batch = next(iter(Runner.build_dataloader(val_loader_cfg)))
    runner.model.eval()
    with torch.no_grad():
        preds = runner.model.test_step(batch)
    assert len(preds) == val_loader_cfg.batch_size
    scores = torch.cat([p.pred_instances.scores for p in preds])
    assert scores.numel() > 0 and bool(((scores >= 0) & (scores <= 1)).all())
