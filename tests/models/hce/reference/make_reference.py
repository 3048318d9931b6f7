"""Record HCE losses and detections on a fixed batch with seeded weights (the fixture
``hce_reference.pt`` read by ``test_hce_reference.py``). Run with the implementation to freeze:

    PYTHONPATH=<checkout of that implementation> OMP_NUM_THREADS=1 \\
        .venv/bin/python tests/models/hce/reference/make_reference.py OUT.pt
"""
import copy
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from test_hce_families import FAMILIES, batch, build, small_cfg  # noqa: E402

# case -> (family, HCE keys)
CASES = {
    'faster': ('faster', {}),
    'faster_concat_flatten': ('faster', dict(context_roi=dict(early_fusion='concat'),
                                             late_fusion=dict(pool='flatten'))),
    'faster_logit_sum_gate': ('faster', dict(context_roi=dict(gate='zero'),
                                             late_fusion=dict(fusion='logit_sum'))),
    'mask': ('mask', {}),
    'cascade': ('cascade', {}),
}


def record(family: str, keys: dict) -> dict:
    rel, hce_type, _, with_mask = FAMILIES[family]
    model = build(small_cfg(rel, hce_type, **keys))
    data = batch(model, with_mask)
    out = dict(weights=sum(float(p.detach().double().abs().sum()) for p in model.parameters()))
    torch.manual_seed(1)
    losses = model.loss(data['inputs'], copy.deepcopy(data['data_samples']))
    out['losses'] = {k: (torch.stack(v) if isinstance(v, list) else v).detach()
                     for k, v in losses.items()}
    model.eval()
    with torch.no_grad():
        res = model.predict(data['inputs'], copy.deepcopy(data['data_samples']))
    out['preds'] = [dict(bboxes=r.pred_instances.bboxes, scores=r.pred_instances.scores,
                         labels=r.pred_instances.labels) for r in res]
    return out


def main(path: str) -> None:
    torch.set_num_threads(1)
    torch.save({case: record(*spec) for case, spec in CASES.items()}, path)


if __name__ == '__main__':
    main(sys.argv[1])
