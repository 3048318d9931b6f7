"""Grouped bars of AP by frequency group (APr / APc / APf) per variant, saved as PNG.

    python tools/analysis/plot_lvis_groups.py work_dirs/compare/long_tail/long_tail.json \
        [--variants softmax-ce gumbel-droploss ...] [--groups APr APc APf] --out groups.png

The input is the ladder JSON of ``tools/analysis/compare.py long_tail`` (or ``recognition``):
one bar per variant and group at the mean over its seeds, one dot per seed. ``--variants`` picks
and orders variants (default: all, in ladder order); ``--groups`` may add ``AP``.

Single result files also work (one dot each): any JSON object holding LVIS metrics under keys
ending in ``<iou>_APr``, ... -- e.g. ``lvis/bbox_APr`` (FasterLVISMetric / the mmengine JSON-lines
log ``<work_dir>/<time>/vis_data/scalars.json``, last line with LVIS keys used)::

    python tools/analysis/plot_lvis_groups.py a.json b.json --labels softmax gumbel \
        [--iou-type bbox|segm] --out groups.png

Missing values (``None`` in a ladder, -1 in LVIS results: no ground truth in that group) are
left out of the mean; a group with no value at all is an empty bar marked "n/a".
"""
import argparse
import json
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

GROUPS = ('AP', 'APr', 'APc', 'APf')
DEFAULT_GROUPS = ('APr', 'APc', 'APf')

# variant -> group -> the per-seed values (fractions; None = not measurable)
Values = Dict[str, Dict[str, List[Optional[float]]]]


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


def is_ladder(obj) -> bool:
    return isinstance(obj, dict) and 'ladder' in obj and isinstance(obj.get('runs'), list)


def load_ladder(result, variants: Optional[Sequence[str]] = None,
                groups: Sequence[str] = DEFAULT_GROUPS) -> Values:
    """Per-seed ``groups`` values of every variant of a compare.py ladder (path or dict)."""
    if isinstance(result, str):
        with open(result) as f:
            result = json.load(f)
    if not is_ladder(result):
        raise ValueError('not a compare.py ladder JSON (needs "ladder" and "runs")')
    runs = sorted(result['runs'], key=lambda r: r['seed'])
    have = list(dict.fromkeys(r['variant'] for r in result['runs']))
    for v in variants or ():
        if v not in have:
            raise KeyError(f"variant {v!r} not in the {result['ladder']!r} ladder; "
                           f'available: {have}')
    if not any(g in r['metrics'] for r in runs for g in groups):
        raise KeyError(f"ladder {result['ladder']!r} has no {list(groups)} metrics "
                       '(use the long_tail or recognition ladder)')
    return OrderedDict((v, {g: [r['metrics'].get(g) for r in runs if r['variant'] == v]
                            for g in groups}) for v in (variants or have))


def ladder_title(result: dict) -> str:
    seeds = sorted({r['seed'] for r in result['runs']})
    return (f"{result['ladder']}: AP by frequency group, {result.get('iters')} iters, seeds "
            f"{seeds} (bars: mean, dots: seeds)")


def _ok(v) -> bool:
    return v is not None and v == v and v >= 0


def mean(vals: Sequence[Optional[float]]) -> Optional[float]:
    got = [v for v in vals if _ok(v)]
    return sum(got) / len(got) if got else None


# more variants than this: the legend goes beside the axes (the figure grows to make room)
LEGEND_INSIDE_MAX = 4


def draw(ax, values: Values, groups: Sequence[str] = DEFAULT_GROUPS):
    """Bars (mean over seeds, %) grouped by ``groups``, one colour per variant, and the seeds as
    dots; returns ``{variant: [bar per group]}``."""
    names = list(values)
    n = len(names)
    width = 0.8 / max(n, 1)
    bars_of = {}
    import matplotlib
    # tab10 repeats after 10 variants, tab20 after 20; beyond, n samples of a spectral map
    if n <= 20:
        cmap = matplotlib.colormaps['tab10' if n <= 10 else 'tab20']
    else:
        cmap = matplotlib.colormaps['nipy_spectral'].resampled(n + 1)  # N = n + 1: no white end
    for i, name in enumerate(names):
        xs = [j + (i - (n - 1) / 2) * width for j in range(len(groups))]
        means = [mean(values[name].get(g, [])) for g in groups]
        bars = ax.bar(xs, [0 if m is None else 100 * m for m in means], width, label=name,
                      color=cmap(i % cmap.N))
        bars_of[name] = list(bars)
        for x, g, m, b in zip(xs, groups, means, bars):
            seeds = [100 * v for v in values[name].get(g, []) if _ok(v)]
            if seeds:
                ax.scatter([x] * len(seeds), seeds, s=10, zorder=3, color='k')
            top = max([b.get_height()] + seeds)
            ax.annotate('n/a' if m is None else f'{100 * m:.1f}',
                        (b.get_x() + b.get_width() / 2, top), ha='center', va='bottom',
                        fontsize=7 if n <= 10 else 5)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups)
    ax.set_ylabel('AP (%)')
    if n <= LEGEND_INSIDE_MAX:
        ax.legend(fontsize=8, ncol=n)
    else:  # beside the axes, where it hides no bar
        ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.01, 1.0), ncol=1 + n // 16)
    return bars_of


def plot(values: Values, out: str, title: Optional[str] = None,
         groups: Sequence[str] = DEFAULT_GROUPS) -> str:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    n = len(values)
    width = max(6, 1.6 * len(groups) + 0.4 * n) + (2.5 if n > LEGEND_INSIDE_MAX else 0)
    fig, ax = plt.subplots(figsize=(width, 4))
    draw(ax, values, groups)
    ax.set_title(title or 'AP by frequency group', fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv: Optional[List[str]] = None) -> str:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('results', nargs='+',
                   help='one compare.py ladder JSON, or LVIS result files (one per variant)')
    p.add_argument('--variants', nargs='+', help='ladder: variants to draw, in this order')
    p.add_argument('--groups', nargs='+', default=list(DEFAULT_GROUPS), choices=GROUPS)
    p.add_argument('--labels', nargs='+', help='result files: legend names (default: names)')
    p.add_argument('--iou-type', default='bbox', choices=['bbox', 'segm'],
                   help='result files: which LVIS metrics')
    p.add_argument('--out', default='lvis_groups.png')
    p.add_argument('--title')
    args = p.parse_args(argv)
    first = None
    try:
        with open(args.results[0]) as f:
            first = json.load(f)
    except json.JSONDecodeError:  # a JSON-lines log
        pass
    if is_ladder(first):
        if len(args.results) > 1:
            p.error('give one ladder JSON (its variants are picked with --variants)')
        values = load_ladder(first, args.variants, args.groups)
        title = args.title or ladder_title(first)
    else:
        if args.variants:
            p.error('--variants picks from a ladder JSON; name result files with --labels')
        labels = args.labels or [osp.splitext(osp.basename(r))[0] for r in args.results]
        if len(labels) != len(args.results):
            p.error(f'{len(labels)} labels for {len(args.results)} result files')
        values = OrderedDict()
        for lb, r in zip(labels, args.results):
            got = load_groups(r, args.iou_type)
            values[lb] = {g: [got[g]] for g in args.groups}
        title = args.title or 'LVIS AP by frequency group'
    out = plot(values, args.out, title, args.groups)
    print(f'wrote {out}')
    return out


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
