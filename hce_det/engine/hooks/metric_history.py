"""Record every validation's metrics with its iteration (the learning curve of a run)."""
import json
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmdet.registry import HOOKS


@HOOKS.register_module()
class MetricHistoryHook(Hook):
    """Append ``{"iter": i, <metric>: value, ...}`` after each validation to
    ``{work_dir}/metric_history.jsonl`` (rank 0). mmengine keeps only the latest value of each
    metric in its logs' summary; a convergence curve needs all of them."""

    priority = 'LOW'

    def after_val_epoch(self, runner, metrics=None) -> None:
        if not is_main_process() or not metrics:
            return
        rec = dict(iter=runner.iter)
        rec.update({k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))})
        os.makedirs(runner.work_dir, exist_ok=True)
        with open(osp.join(runner.work_dir, 'metric_history.jsonl'), 'a') as f:
            f.write(json.dumps(rec) + '\n')


def read_history(work_dir: str) -> list:
    """The records written by :class:`MetricHistoryHook` (``[]`` when there are none)."""
    path = osp.join(work_dir, 'metric_history.jsonl')
    if not osp.isfile(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
