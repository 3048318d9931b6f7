"""Per-class AP50 bars for domain-adaptation runs (e.g. source-only vs DA vs DA+CR).

Inputs are either per-run JSON tables written by ``VOCPerClassAP50Metric(out_json=...)``::

    python tools/analysis/plot_da_per_class.py --runs source-only=a.json DA=b.json \
        DA+CR=c.json --out per_class.png

or the ``cr_da`` ladder JSON of ``tools/analysis/compare.py`` (per-class VOC AP50 area,
``AP50_<class>``, averaged over the seeds of each variant; pick variants by name, default all)::

    python tools/analysis/plot_da_per_class.py --ladder work_dirs/compare/cr_da/cr_da.json \
        --variants source-only DA-Faster DA-Faster+ICR+CCR --out per_class.png

The last group of bars ("mAP") is the mean over the classes drawn.
"""
import argparse
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional

LADDER_PREFIX = 'AP50_'  # compare.py: metrics AP50_<class> = VOC AP50 (area) of <class>


def from_table(path: str, mode: str = 'area') -> Dict[str, float]:
    with open(path) as f:
        t = json.load(f)
    if mode not in t or 'per_class' not in t[mode]:
        raise ValueError(f'{path} is not a VOCPerClassAP50Metric table (no "{mode}.per_class")')
    return OrderedDict((c, v) for c, v in t[mode]['per_class'].items() if v is not None)


def load_ladder(path: str) -> dict:
    with open(path) as f:
        result = json.load(f)
    if not isinstance(result, dict) or not isinstance(result.get('runs'), list):
        raise ValueError(f'{path} is not a compare.py ladder JSON (no "runs")')
    return result


def ladder_variants(result: dict) -> List[str]:
    return list(dict.fromkeys(r['variant'] for r in result['runs']))


def from_ladder(result, variant: str) -> Dict[str, float]:
    """Per-class AP50 (area) of ``variant`` in a compare.py cr_da ladder (path or dict), each
    the mean over the seeds where it was measurable."""
    if isinstance(result, str):
        result = load_ladder(result)
    runs = [r for r in result['runs'] if r['variant'] == variant]
    if not runs:
        raise KeyError(f'variant {variant!r} not in the {result.get("ladder")!r} ladder; '
                       f'available: {ladder_variants(result)}')
    per_class = OrderedDict()
    for r in sorted(runs, key=lambda r: r['seed']):
        for k, v in r['metrics'].items():
            if k.startswith(LADDER_PREFIX):
                per_class.setdefault(k[len(LADDER_PREFIX):], [])
                if v is not None:
                    per_class[k[len(LADDER_PREFIX):]].append(v)
    if not per_class:
        raise KeyError(f'variant {variant!r} has no per-class {LADDER_PREFIX}<class> metrics '
                       '(use the cr_da ladder)')
    return OrderedDict((c, sum(vs) / len(vs)) for c, vs in per_class.items() if vs)


def draw(ax, runs: Dict[str, Dict[str, float]]):
    """Grouped bars (%) per class plus a final mean group; returns ``{label: bars}``."""
    import numpy as np
    classes = list(dict.fromkeys(c for ap in runs.values() for c in ap))
    x = np.arange(len(classes) + 1)
    width = 0.8 / len(runs)
    bars_of = {}
    for i, (label, ap) in enumerate(runs.items()):
        vals = [100 * ap.get(c, float('nan')) for c in classes]
        vals.append(float(np.nanmean(vals)))
        bars_of[label] = list(ax.bar(x + (i - (len(runs) - 1) / 2) * width, vals, width,
                                     label=label))
    ax.set_xticks(x)
    ax.set_xticklabels(classes + ['mAP'], rotation=30, ha='right')
    ax.set_ylabel('AP50 (%)')
    ax.legend(fontsize=8)
    return bars_of


def plot(runs: Dict[str, Dict[str, float]], out: str, title: str = 'AP50 per class') -> str:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    n_cls = len({c for ap in runs.values() for c in ap})
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * n_cls + 2), 3.5))
    draw(ax, runs)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f'saved {out}')
    return out


def main(argv: Optional[List[str]] = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--runs', nargs='*', default=[], help='label=table.json')
    p.add_argument('--ladder', default=None, help='compare.py cr_da ladder JSON')
    p.add_argument('--variants', nargs='*', default=None,
                   help='--ladder: variants to draw, in this order (default: all)')
    p.add_argument('--mode', default='area', choices=['area', '11points'],
                   help='--runs tables: which AP50 (ladders hold the area AP50 only)')
    p.add_argument('--title', default='AP50 per class')
    p.add_argument('--out', default='da_per_class.png')
    args = p.parse_args(argv)
    runs = OrderedDict()
    for item in args.runs:
        label, _, path = item.partition('=')
        if not path or not osp.isfile(path):
            raise FileNotFoundError(f'--runs expects label=path.json, got {item!r}')
        runs[label] = from_table(path, args.mode)
    if args.variants is not None and not args.ladder:
        p.error('--variants needs --ladder')
    if args.ladder:
        if args.mode != 'area':
            p.error('a ladder JSON holds the per-class AP50 area only (no --mode 11points)')
        result = load_ladder(args.ladder)
        for variant in args.variants or ladder_variants(result):
            runs[variant] = from_ladder(result, variant)
    if not runs:
        p.error('nothing to plot: give --runs or --ladder')
    return plot(runs, args.out, args.title)


if __name__ == '__main__':
    main()
