"""Grouped bars of LVIS APr / APc / APf (and AP) for several result files, saved as PNG.

    python tools/analysis/plot_lvis_groups.py RESULT.json [RESULT.json ...] --out groups.png
        [--labels softmax gumbel ...] [--iou-type bbox|segm] [--title TEXT]

A result file is any JSON object holding LVIS metrics under keys ending in ``<iou>_AP``,
``<iou>_APr``, ... -- e.g. ``lvis/bbox_APr`` (HceLVISMetric / mmengine ``tools/test.py`` logs
``<work_dir>/<time>/<time>.json``) or the per-method files ``tools/analysis/lvis_proxy.py`` writes.
A JSON-lines log (one object per line) uses its last line with LVIS keys. Values of -1 (LVIS:
no ground truth in that group) are drawn as empty bars marked "n/a".
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Optional

GROUPS = ('AP', 'APr', 'APc', 'APf')


def _lvis_values(obj: dict, iou: str) -> Dict[str, float]:
    out = {}
    for g in GROUPS:
        for k, v in obj.items():
            if k == f'{iou}_{g}' or k.endswith(f'/{iou}_{g}') or (k == g and iou == 'bbox'):
                out[g] = float(v)
    return out


def load_groups(path: str, iou: str = 'bbox') -> Dict[str, float]:
    """AP / APr / APc / APf of one result file (fractions in [0, 1] or -1)."""
    with open(path) as f:
        text = f.read()
    try:
        objs = [json.loads(text)]
    except json.JSONDecodeError:
        objs = [json.loads(line) for line in text.splitlines() if line.strip()]
    found = [v for v in (_lvis_values(o, iou) for o in objs if isinstance(o, dict)) if v]
    if not found:
        raise KeyError(f'{path}: no LVIS {iou} metrics (keys like "lvis/{iou}_APr") found')
    values = found[-1]
    missing = [g for g in GROUPS if g not in values]
    if missing:
        raise KeyError(f'{path}: missing LVIS {iou} metrics {missing}')
    return values


def plot(results: Dict[str, Dict[str, float]], out: str, title: Optional[str] = None,
         groups=GROUPS) -> str:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(results)
    n = len(names)
    width = 0.8 / max(n, 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(groups) + 0.4 * n), 4))
    for i, name in enumerate(names):
        xs = [j + (i - (n - 1) / 2) * width for j in range(len(groups))]
        vals = [results[name][g] for g in groups]
        heights = [100 * v if v >= 0 else 0 for v in vals]
        bars = ax.bar(xs, heights, width, label=name)
        for b, v in zip(bars, vals):
            ax.annotate('n/a' if v < 0 else f'{100 * v:.1f}', (b.get_x() + b.get_width() / 2,
                        b.get_height()), ha='center', va='bottom', fontsize=7)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups)
    ax.set_ylabel('AP (%)')
    ax.set_title(title or 'LVIS AP by frequency group')
    ax.legend(fontsize=8, ncol=min(n, 4))
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv: Optional[List[str]] = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('results', nargs='+', help='JSON result files')
    p.add_argument('--labels', nargs='+', help='legend names (default: file names)')
    p.add_argument('--iou-type', default='bbox', choices=['bbox', 'segm'])
    p.add_argument('--out', default='lvis_groups.png')
    p.add_argument('--title')
    args = p.parse_args(argv)
    labels = args.labels or [osp.splitext(osp.basename(r))[0] for r in args.results]
    if len(labels) != len(args.results):
        p.error(f'{len(labels)} labels for {len(args.results)} result files')
    results = {lb: load_groups(r, args.iou_type) for lb, r in zip(labels, args.results)}
    out = plot(results, args.out, args.title)
    print(f'wrote {out}')
    return out


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
