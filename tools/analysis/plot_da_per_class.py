"""Per-class AP50 bars for domain-adaptation runs (e.g. source-only vs DA vs DA+CR).

Inputs are either per-run JSON tables written by ``VOCPerClassAP50Metric(out_json=...)``::

    python tools/analysis/plot_da_per_class.py --runs source-only=a.json DA=b.json \
        DA+CR=c.json --out per_class.png

or the ladder file of ``tools/analysis/da_proxy.py`` (pick variants by label)::

    python tools/analysis/plot_da_per_class.py --ladder work_dirs/cr_da_proxy/ladder.json \
        --variants source-only DA-Faster "DA-Faster + ICR + CCR" --out per_class.png
"""
import argparse
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict

METRIC_PREFIX = 'voc50/AP50_{mode}/'


def from_table(path: str, mode: str = 'area') -> Dict[str, float]:
    with open(path) as f:
        t = json.load(f)
    if mode not in t or 'per_class' not in t[mode]:
        raise ValueError(f'{path} is not a VOCPerClassAP50Metric table (no "{mode}.per_class")')
    return OrderedDict((c, v) for c, v in t[mode]['per_class'].items() if v is not None)


def from_ladder(path: str, label: str, mode: str = 'area') -> Dict[str, float]:
    with open(path) as f:
        runs = json.load(f)
    if label not in runs:
        raise KeyError(f'variant {label!r} not in {path}; available: {list(runs)}')
    prefix = METRIC_PREFIX.format(mode='11pt' if mode == '11points' else mode)
    return OrderedDict((k[len(prefix):], v) for k, v in runs[label]['metrics'].items()
                       if k.startswith(prefix))


def plot(runs: Dict[str, Dict[str, float]], out: str, title: str = 'AP50 per class') -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    classes = list(next(iter(runs.values())))
    x = np.arange(len(classes) + 1)
    width = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(classes) + 2), 3.5))
    for i, (label, ap) in enumerate(runs.items()):
        vals = [100 * ap.get(c, float('nan')) for c in classes]
        vals.append(float(np.nanmean(vals)))
        ax.bar(x + (i - (len(runs) - 1) / 2) * width, vals, width, label=label)
    ax.set_xticks(x)
    ax.set_xticklabels(classes + ['mAP'], rotation=30, ha='right')
    ax.set_ylabel('AP50 (%)')
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f'saved {out}')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--runs', nargs='*', default=[], help='label=table.json')
    p.add_argument('--ladder', default=None)
    p.add_argument('--variants', nargs='*', default=[])
    p.add_argument('--mode', default='area', choices=['area', '11points'])
    p.add_argument('--out', default='da_per_class.png')
    args = p.parse_args()
    runs = OrderedDict()
    for item in args.runs:
        label, _, path = item.partition('=')
        if not path or not osp.isfile(path):
            raise FileNotFoundError(f'--runs expects label=path.json, got {item!r}')
        runs[label] = from_table(path, args.mode)
    for label in args.variants:
        if not args.ladder:
            raise ValueError('--variants needs --ladder')
        runs[label] = from_ladder(args.ladder, label, args.mode)
    if not runs:
        raise ValueError('nothing to plot: give --runs or --ladder with --variants')
    plot(runs, args.out)


if __name__ == '__main__':
    main()
