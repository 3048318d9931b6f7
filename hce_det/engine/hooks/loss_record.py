"""Record every rank's per-iteration loss terms (mmengine logs rank 0 only, smoothed)."""
import json
import os
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmdet.registry import HOOKS


@HOOKS.register_module()
class LossRecordHook(Hook):
    """Append ``{"iter": i, "rank": r, "images": {branch: [file names]}, <loss terms>: value}``
    after every training iteration to ``{out_dir or work_dir}/losses_rank{r}.jsonl``. Used to
    compare runs exactly (distributed vs single process, resumed vs uninterrupted) and to check
    which images each rank trained on (``branch`` is ``"all"`` unless the batch is
    multi-branch, e.g. ``source`` / ``target``)."""

    priority = 'LOW'

    def __init__(self, out_dir=None) -> None:
        self.out_dir = out_dir

    def before_train(self, runner) -> None:
        out = self.out_dir or runner.work_dir
        os.makedirs(out, exist_ok=True)
        self.path = osp.join(out, f'losses_rank{get_rank()}.jsonl')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        rec = dict(iter=runner.iter + 1, rank=get_rank(), images=_image_names(data_batch))
        for k, v in (outputs or {}).items():
            rec[k] = float(v.detach().float().mean()) if torch.is_tensor(v) else float(v)
        with open(self.path, 'a') as f:
            f.write(json.dumps(rec) + '\n')


def _image_names(data_batch) -> dict:
    samples = (data_batch or {}).get('data_samples') or []
    branches = samples if isinstance(samples, dict) else {'all': samples}
    return {b: [osp.basename(s.metainfo.get('img_path', '?')) for s in ss if s is not None]
            for b, ss in branches.items()}
