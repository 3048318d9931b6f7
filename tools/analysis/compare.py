"""Paired comparison of method variants on the built-in data: one harness for every ladder.

    python tools/analysis/compare.py LADDER [--variants A B ...] [--seeds 0 1 2] [--iters N]
        [--data-seed S] [--out DIR] [--curve-every K]
    python tools/analysis/compare.py report [--results docs/results] [--out docs/RESULTS.md]

Ladders (``tools/analysis/ladders.py``): ``hce`` (headroom split), ``hce_scene`` (scene-visible
split), ``cr_da``, ``long_tail``, ``recognition``. For every (variant, seed) the harness

* generates the built-in data for ``--data-seed`` into ``data/cache/seed<S>/`` when missing;
* trains with the same schedule (``scale_schedule`` to ``--iters``), the same data order
  (sampler seeded by the run seed) and the **same initial weights for every module the variants
  share**: the first variant is built once per seed, its initialised state saved to
  ``DIR/init/seed<S>.pth``, and every variant (the first included) loads it after its own
  ``init_weights`` through mmengine's ``load_from`` (keys of the same name and shape; the
  variant's extra modules keep their own initialisation);
* evaluates once after training (and every ``--curve-every`` iterations for a learning curve);
* writes ``DIR/runs/<variant>__seed<S>.json`` -- finished pairs are skipped on the next call, so
  a killed ladder resumes -- then ``DIR/LADDER.json``, ``DIR/LADDER.md`` (mean +- sd per
  variant, paired differences to the first variant per seed, sign counts) and ``DIR/LADDER.png``.

``report`` rebuilds ``docs/RESULTS.md`` (tables and plots) from the ladder JSONs in a folder.
"""
import argparse
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from ladders import LADDERS, Ladder, Variant  # noqa: E402

DEFAULT_ROOT = 'data/hce_synth/'


# ------------------------------------------------------------------------------------ data
def data_root_for(data_seed: int, cache: str = osp.join(ROOT, 'data/cache')) -> str:
    """Built-in data of ``data_seed`` (generated on first use); returns the root with '/'."""
    from hce_det.datasets.synthetic import SuiteSpec, generate_suite
    root = osp.join(cache, f'seed{data_seed}') + '/'
    stamp = osp.join(root, 'suite.json')
    want = SuiteSpec(seed=data_seed)
    if osp.isfile(stamp):
        with open(stamp) as f:
            have = json.load(f)['suite']
        if all(have.get(k) == v for k, v in vars(want).items() if k != 'splits'):
            return root
    print(f'generating the built-in data (seed {data_seed}) into {root}', file=sys.stderr)
    generate_suite(root, want)
    return root


def repoint(node, data_root: str, splits: Dict[str, str]):
    """Every ``data/hce_synth/`` path (and ``data_root``) in a config node -> ``data_root``;
    annotation files renamed by ``splits`` (``{'context_val': 'context_cooc_val'}``)."""
    if isinstance(node, str):
        if node.startswith(DEFAULT_ROOT):
            node = data_root + node[len(DEFAULT_ROOT):]
        for old, new in splits.items():
            node = node.replace(f'annotations/{old}.json', f'annotations/{new}.json')
        return node
    if isinstance(node, dict) or hasattr(node, '_cfg_dict'):  # ConfigDict or Config
        for k in list(node.keys()):
            node[k] = repoint(node[k], data_root, splits)
        return node
    if isinstance(node, (list, tuple)):
        return type(node)(repoint(v, data_root, splits) for v in node)
    return node


# ------------------------------------------------------------------------------ one run
def configure(cfg, ladder: Ladder, variant: Variant, seed: int, iters: int, data_root: str,
              work_dir: str, init_path: Optional[str], ctx: dict, curve_every: int = 0):
    """Edit a loaded config into one ladder run (shared schedule, data, seed and init)."""
    from hce_det.engine.launch import add_class_count_check, scale_schedule
    from hce_det.engine.runs import own_visualizer
    repoint(cfg, data_root, ladder.splits)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    scale_schedule(cfg, iters)
    # validate every ``curve_every`` iterations (curve) or never inside train(): once, after
    # (mmengine's loop also validates at the last iteration unless ``val_begin`` is past it;
    # that duplicate of ``runner.val()`` cost ~1 min per ladder run)
    cfg.train_cfg.val_interval = curve_every if curve_every else iters + 1
    if not curve_every:
        cfg.train_cfg.val_begin = iters + 1
    cfg.default_hooks.checkpoint.update(interval=iters, max_keep_ckpts=1, save_last=True)
    cfg.default_hooks.logger.interval = max(1, min(50, iters // 10))
    if ladder.twin:
        ev = cfg.val_evaluator
        evs = list(ev) if isinstance(ev, (list, tuple)) else [ev]
        cfg.val_evaluator = cfg.test_evaluator = evs + [dict(type='TwinConfusionMetric')]
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [dict(type='MetricHistoryHook')]
    if init_path is not None:
        cfg.load_from, cfg.resume = init_path, False
    if variant.edit is not None:
        variant.edit(cfg, ctx)
    add_class_count_check(cfg)
    own_visualizer(cfg)
    return cfg


def load_config(variant: Variant):
    import hce_det  # noqa: F401
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, variant.config))


def save_shared_init(ladder: Ladder, seed: int, iters: int, data_root: str, path: str) -> str:
    """Build the ladder's first variant with ``seed``, run its ``init_weights`` and save the
    state: the initial weights every variant of this seed starts from."""
    if osp.isfile(path):
        return path
    import torch
    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed

    from mmdet.registry import MODELS
    base = ladder.variants[0]
    cfg = configure(load_config(base), ladder, base, seed, iters, data_root,
                    osp.dirname(path), None, {})
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    set_random_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp'  # concurrent writers (same bytes) never share a temp file
    torch.save({'state_dict': model.state_dict(), 'meta': dict(seed=seed, variant=base.name)},
               tmp)
    os.replace(tmp, path)
    return path


def shared_init_path(out: str, seed: int) -> str:
    """Where the runs of ``seed`` under ``out`` find their shared initial weights."""
    return osp.join(out, 'init', f'seed{seed}.pth')


def build_variant_runner(ladder, variant, seed, iters, data_root, out, ctx, curve_every=0):
    """The mmengine Runner of one (variant, seed) run, starting from the shared init."""
    from mmengine.runner import Runner
    init = save_shared_init(ladder, seed, iters, data_root, shared_init_path(out, seed))
    work_dir = osp.join(out, 'work', f'{variant.name}__seed{seed}')
    cfg = configure(load_config(variant), ladder, variant, seed, iters, data_root, work_dir,
                    init, ctx, curve_every)
    return Runner.from_cfg(cfg)


def train_and_eval(ladder, variant, seed, iters, data_root, out, ctx, curve_every=0) -> dict:
    """Train one (variant, seed) and evaluate it; returns the run record."""
    from hce_det.engine.hooks.metric_history import read_history
    t0 = time.time()
    runner = build_variant_runner(ladder, variant, seed, iters, data_root, out, ctx, curve_every)
    runner.train()
    train_s = time.time() - t0
    raw = {k: float(v) for k, v in runner.val().items() if isinstance(v, (int, float))}
    ckpt = osp.join(runner.work_dir, f'iter_{iters}.pth')
    curve = [dict(iter=h['iter'], **summarise(h, data_root, ladder)) for h in
             read_history(runner.work_dir) if h['iter'] < iters] if curve_every else []
    return dict(variant=variant.name, seed=seed, seconds=round(time.time() - t0, 1),
                train_seconds=round(train_s, 1), config=variant.config,
                metrics=summarise(raw, data_root, ladder), raw=raw, curve=curve,
                checkpoint=osp.relpath(ckpt, out) if osp.isfile(ckpt) else None)


# ------------------------------------------------------------------------------- metrics
def _frac(v) -> Optional[float]:
    return None if v is None or v != v or v < 0 else float(v)


def frequency_groups(data_root: str, train_split: str = 'lt_train') -> Dict[str, List[str]]:
    with open(osp.join(data_root, 'annotations', f'{train_split}.json')) as f:
        cats = json.load(f)['categories']
    groups = {'r': [], 'c': [], 'f': []}
    for c in cats:
        groups[c['frequency']].append(c['name'])
    return groups


def _per_class_ap(raw: Dict[str, float], prefix: str) -> Dict[str, Optional[float]]:
    """``<prefix><class>_precision`` keys of an evaluator (COCO / LVIS metric) -> {class: AP}."""
    return {k[len(prefix):-len('_precision')]: _frac(v) for k, v in raw.items()
            if k.startswith(prefix) and k.endswith('_precision')}


def summarise(raw: Dict[str, float], data_root: str, ladder: Ladder) -> Dict[str, float]:
    """Raw evaluator keys -> the ladder's metrics, as fractions (None when not measurable)."""
    from hce_det.datasets.synthetic import CONTEXT_CLASSES
    out = {}
    per_class = _per_class_ap(raw, 'coco/')
    if 'coco/bbox_mAP' in raw:
        out['mAP'] = _frac(raw['coco/bbox_mAP'])
        out['AP'] = out['mAP']
        out['AP50'] = _frac(raw.get('coco/bbox_mAP_50'))
    # per-class AP of either metric (LVIS too: e.g. the rare class's); ctxAP from COCO's only
    for c, v in {**_per_class_ap(raw, 'lvis/'), **per_class}.items():
        out[f'AP_{c}'] = v
    ctx = [per_class.get(c) for c in CONTEXT_CLASSES if per_class.get(c) is not None]
    if ctx:
        out['ctxAP'] = sum(ctx) / len(ctx)
    if 'twin/confusion' in raw:
        out['twin_confusion'] = _frac(raw['twin/confusion'])
        out['twin_matched'] = raw.get('twin/matched')
    if 'voc50/mAP50_area' in raw:
        out['mAP50'] = _frac(raw['voc50/mAP50_area'])
        out['mAP50_11pt'] = _frac(raw.get('voc50/mAP50_11pt'))
        for k, v in raw.items():
            if k.startswith('voc50/AP50_area/'):
                out['AP50_' + k[len('voc50/AP50_area/'):]] = _frac(v)
    for k in ('AP', 'AP50', 'APr', 'APc', 'APf'):
        if f'lvis/bbox_{k}' in raw:
            out[k] = _frac(raw[f'lvis/bbox_{k}'])
    if 'APr' not in out and per_class and ladder.freq_split:  # CocoMetric: r/c/f from train
        for g, names in frequency_groups(data_root, ladder.freq_split).items():
            vals = [per_class[n] for n in names if per_class.get(n) is not None]
            out['AP' + g] = sum(vals) / len(vals) if vals else None
    return out


# ------------------------------------------------------------------------------- ladder
def run_path(out: str, variant: str, seed: int) -> str:
    return osp.join(out, 'runs', f'{variant}__seed{seed}.json')


def progress(done: int, total: int, t_start: float, n_ran: int, label: str) -> None:
    """One progress line over all runs of the ladder, with an ETA from this call's runs."""
    width = 24
    fill = int(width * done / max(total, 1))
    elapsed = time.time() - t_start
    eta = (elapsed / n_ran * (total - done)) if n_ran else None
    eta_s = f'ETA {eta / 60:5.1f} min' if eta is not None else 'ETA   ?'
    print(f'[{"#" * fill}{"-" * (width - fill)}] {done}/{total} runs | '
          f'{elapsed / 60:5.1f} min | {eta_s} | next: {label}', file=sys.stderr, flush=True)


def git_describe() -> str:
    try:
        return subprocess.run(['git', 'describe', '--always', '--dirty'], cwd=ROOT, text=True,
                              capture_output=True, check=False).stdout.strip() or '?'
    except OSError:
        return '?'


def order_variants(ladder: Ladder, names: List[str]) -> List[Variant]:
    """The requested variants in ladder order, each after the variant it depends on."""
    chosen = [ladder.variant(n) for n in names]
    for v in list(chosen):
        if v.after and v.after not in names:
            raise SystemExit(f'variant {v.name!r} needs {v.after!r} in --variants')
    return sorted(chosen, key=lambda v: [x.name for x in ladder.variants].index(v.name))


def run_ladder(ladder: Ladder, variants: List[Variant], seeds: List[int], iters: int,
               data_seed: int, out: str, curve_every: int = 0, runner_fn=None,
               data_root: Optional[str] = None) -> dict:
    """Run every missing (variant, seed) pair, then write the ladder's JSON, table and plot.
    ``runner_fn`` (default :func:`train_and_eval`) and ``data_root`` (default: the data of
    ``data_seed``) are for tests."""
    runner_fn = runner_fn or train_and_eval
    data_root = data_root or data_root_for(data_seed)
    os.makedirs(osp.join(out, 'runs'), exist_ok=True)
    pairs = [(v, s) for s in seeds for v in variants]
    todo = [(v, s) for v, s in pairs if not osp.isfile(run_path(out, v.name, s))]
    t0, done = time.time(), len(pairs) - len(todo)
    for i, (v, s) in enumerate(todo):
        progress(done + i, len(pairs), t0, i, f'{v.name} seed {s}')
        ctx = dict(checkpoint_of={})
        if v.after:
            with open(run_path(out, v.after, s)) as f:
                dep = json.load(f)
            ctx['checkpoint_of'][v.after] = osp.join(out, dep['checkpoint'])
        rec = runner_fn(ladder, v, s, iters, data_root, out, ctx, curve_every)
        rec.update(iters=iters, data_seed=data_seed, curve_every=curve_every)
        path = run_path(out, v.name, s)
        with open(path + '.tmp', 'w') as f:
            json.dump(rec, f, indent=1)
        os.replace(path + '.tmp', path)
    progress(len(pairs), len(pairs), t0, max(len(todo), 1), 'done')
    return write_ladder(ladder, out, iters, data_seed, curve_every)


def write_ladder(ladder: Ladder, out: str, iters: int, data_seed: int,
                 curve_every: int = 0) -> dict:
    """The ladder's JSON, table and plot from the finished runs of this schedule: same
    ``iters``, ``data_seed`` and ``curve_every`` (validating during training draws from the
    RNG, so curve runs are paired only with curve runs of the same interval)."""
    runs = []
    for v in ladder.variants:
        for name in sorted(os.listdir(osp.join(out, 'runs'))):
            if name.startswith(f'{v.name}__seed') and name.endswith('.json'):
                with open(osp.join(out, 'runs', name)) as f:
                    r = json.load(f)
                if (r.get('iters') == iters and r.get('data_seed') == data_seed
                        and r.get('curve_every', 0) == curve_every):
                    runs.append({k: r[k] for k in ('variant', 'seed', 'seconds', 'metrics',
                                                   'curve') if k in r})
    result = dict(ladder=ladder.name, metric=ladder.metric, iters=iters, data_seed=data_seed,
                  curve_every=curve_every, git=git_describe(), keys=list(ladder.keys), runs=runs)
    with open(osp.join(out, f'{ladder.name}.json'), 'w') as f:
        json.dump(result, f, indent=1)
    md = markdown(result, ladder)
    with open(osp.join(out, f'{ladder.name}.md'), 'w') as f:
        f.write(md + '\n')
    plot(result, osp.join(out, f'{ladder.name}.png'))
    print(md)
    return result


# ------------------------------------------------------------------------------- tables
def mean_sd(vals: List[float]):
    n = len(vals)
    if not n:
        return None, None
    m = sum(vals) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (n - 1)) if n > 1 else None
    return m, sd


def paired(result: dict, variant: str, key: str, base: str):
    """Per-seed differences ``variant - base`` on ``key`` over the seeds both have."""
    by = {(r['variant'], r['seed']): r['metrics'].get(key) for r in result['runs']}
    seeds = sorted({s for v, s in by if v == variant} & {s for v, s in by if v == base})
    return {s: by[(variant, s)] - by[(base, s)] for s in seeds
            if by[(variant, s)] is not None and by[(base, s)] is not None}


def _pct(v, sign=False) -> str:
    if v is None:
        return 'n/a'
    return f'{100 * v:+.1f}' if sign else f'{100 * v:.1f}'


def markdown(result: dict, ladder: Optional[Ladder] = None) -> str:
    """Mean +- sd per variant; paired difference to the first variant per seed, its mean and
    how many seeds share the sign of the mean."""
    keys, metric = result['keys'], result['metric']
    variants = list(dict.fromkeys(r['variant'] for r in result['runs']))
    if not variants:
        return f"### {result['ladder']}: no runs"
    base = variants[0]
    lines = [f"### `{result['ladder']}` ladder: {result['iters']} iterations, data seed "
             f"{result['data_seed']}, git {result['git']} (values in %, mean ± sd over seeds)", '',
             '| variant | seeds | ' + ' | '.join(keys) + ' |',
             '|---|---|' + '---|' * len(keys)]
    for v in variants:
        rs = [r for r in result['runs'] if r['variant'] == v]
        cells = []
        for k in keys:
            m, sd = mean_sd([r['metrics'][k] for r in rs if r['metrics'].get(k) is not None])
            cells.append('n/a' if m is None else _pct(m) + ('' if sd is None else f' ± {_pct(sd)}'))
        lines.append(f"| {v} | {len(rs)} | " + ' | '.join(cells) + ' |')
    seeds = sorted({r['seed'] for r in result['runs']})
    lines += ['', f'Paired differences to `{base}` on **{metric}** (per seed; mean; seeds with '
                  'the sign of the mean):', '',
              '| variant | ' + ' | '.join(f'seed {s}' for s in seeds) + ' | mean ± sd | sign |',
              '|---|' + '---|' * (len(seeds) + 2)]
    for v in variants[1:]:
        d = paired(result, v, metric, base)
        m, sd = mean_sd(list(d.values()))
        agree = sum(1 for x in d.values() if m is not None and x * m > 0)
        lines.append(f'| {v} | ' + ' | '.join(_pct(d.get(s), True) for s in seeds)
                     + f" | {_pct(m, True)}{'' if sd is None else ' ± ' + _pct(sd)} | "
                     f"{agree}/{len(d)} |")
    return '\n'.join(lines)


def plot(result: dict, path: str) -> None:
    """Per-seed dots and a mean bar per variant of the headline metric."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    metric = result['metric']
    variants = list(dict.fromkeys(r['variant'] for r in result['runs']))
    fig, ax = plt.subplots(figsize=(max(4, 1.1 * len(variants) + 1), 3.2))
    for i, v in enumerate(variants):
        vals = [100 * r['metrics'][metric] for r in result['runs']
                if r['variant'] == v and r['metrics'].get(metric) is not None]
        if vals:
            ax.bar(i, sum(vals) / len(vals), color='#9ecae1', width=0.6)
            ax.scatter([i] * len(vals), vals, color='#08519c', zorder=3, s=14)
    ax.set_xticks(range(len(variants)), variants, rotation=30, ha='right', fontsize=8)
    ax.set_ylabel(f'{metric} (%)')
    ax.set_title(f"{result['ladder']}: {metric}, {result['iters']} iters "
                 f"(bars: mean, dots: seeds)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def curve_table(result: dict) -> str:
    """The learning curve of each variant (mean over seeds of the headline metric)."""
    metric = result['metric']
    rows = {}
    for r in result['runs']:
        pts = list(r.get('curve') or []) + [dict(iter=result['iters'], **r['metrics'])]
        for p in pts:
            if p.get(metric) is not None:
                rows.setdefault(r['variant'], {}).setdefault(p['iter'], []).append(p[metric])
    if not any(len(v) > 1 for v in rows.values()):
        return ''
    iters = sorted({i for v in rows.values() for i in v})
    lines = [f'Learning curve ({metric}, %, mean over seeds):', '',
             '| variant | ' + ' | '.join(str(i) for i in iters) + ' |',
             '|---|' + '---|' * len(iters)]
    for v, pts in rows.items():
        lines.append(f'| {v} | ' + ' | '.join(
            _pct(sum(pts[i]) / len(pts[i])) if i in pts else '' for i in iters) + ' |')
    return '\n'.join(lines)


def lvis_groups_plot(result: dict, png: str) -> Optional[str]:
    """APr / APc / APf bars with per-seed dots (``plot_lvis_groups.py``) for a ladder that
    reports frequency groups (``long_tail``, ``recognition``); None for the others."""
    if not {'APr', 'APc', 'APf'} <= set(result.get('keys', ())):
        return None
    import plot_lvis_groups
    return plot_lvis_groups.plot(plot_lvis_groups.load_ladder(result), png,
                                 plot_lvis_groups.ladder_title(result))


def report(results_dir: str, out: str) -> None:
    """docs/RESULTS.md from every ladder JSON in ``results_dir`` (tables, curves, plots)."""
    parts = ['# Results on the built-in data', '',
             'Generated by `python tools/analysis/compare.py report` from the ladder JSONs in '
             f'`{osp.relpath(results_dir, ROOT)}/`; each section names the commands that '
             'produced its JSON and ends with the hand-written reading in '
             '`<ladder>.notes.md` beside it, if any. Values are fractions in the JSONs, % here.',
             '']
    for name in sorted(os.listdir(results_dir)):
        if not name.endswith('.json'):
            continue
        with open(osp.join(results_dir, name)) as f:
            result = json.load(f)
        if 'ladder' not in result:
            continue
        png = osp.join(results_dir, name[:-5] + '.png')
        plot(result, png)
        by_seeds = {}   # one command per set of seeds (ablation rows may have fewer)
        for v in dict.fromkeys(r['variant'] for r in result['runs']):
            seeds = tuple(sorted(r['seed'] for r in result['runs'] if r['variant'] == v))
            by_seeds.setdefault(seeds, []).append(v)
        every = result.get('curve_every', 0)
        cmds = [f"python tools/analysis/compare.py {result['ladder']} --variants {' '.join(vs)} "
                f"--seeds {' '.join(map(str, seeds))} --iters {result['iters']} "
                f"--data-seed {result['data_seed']}" + (f' --curve-every {every}' if every else '')
                for seeds, vs in by_seeds.items()]
        title = (f"`{result['ladder']}`" if name[:-5] == result['ladder'] else
                 f"`{result['ladder']}` ladder, `{name}`")
        parts += [f"## {title}", '', 'Commands:', '', '```', *cmds, '```', '',
                  markdown(result), '']
        curve = curve_table(result)
        if curve:
            parts += [curve, '']
        parts += [f"![{result['ladder']}]({osp.relpath(png, osp.dirname(out) or '.')})", '']
        groups = lvis_groups_plot(result, osp.join(results_dir, name[:-5] + '_groups.png'))
        if groups:
            parts += [f"![{result['ladder']} by frequency group]"
                      f"({osp.relpath(groups, osp.dirname(out) or '.')})", '']
        notes = osp.join(results_dir, name[:-5] + '.notes.md')
        if osp.isfile(notes):
            with open(notes) as f:
                parts += [f.read().strip(), '']
    with open(out, 'w') as f:
        f.write('\n'.join(parts))
    print(f'wrote {out}')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('ladder', choices=list(LADDERS) + ['report'])
    p.add_argument('--variants', nargs='+', help='default: every headline row of the ladder')
    p.add_argument('--ablations', action='store_true', help='add the ablation rows')
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--iters', type=int, help="default: the ladder's budget")
    p.add_argument('--data-seed', type=int, default=0)
    p.add_argument('--curve-every', type=int, default=0,
                   help='also validate every K iterations (learning curve in the JSON). Each '
                        'validation draws from the global torch RNG (DataLoader seed), so a '
                        'curve run trains differently from a run without: pair like with like')
    p.add_argument('--out', help='default: work_dirs/compare/<ladder>')
    p.add_argument('--results', default=osp.join(ROOT, 'docs/results'), help='report: JSON dir')
    args = p.parse_args(argv)
    if args.ladder == 'report':
        return report(args.results, args.out or osp.join(ROOT, 'docs/RESULTS.md'))
    ladder = LADDERS[args.ladder]
    names = args.variants or [v.name for v in ladder.variants if args.ablations or not v.ablation]
    variants = order_variants(ladder, names)
    out = args.out or osp.join(ROOT, 'work_dirs/compare', ladder.name)
    return run_ladder(ladder, variants, args.seeds, args.iters or ladder.iters, args.data_seed,
                      out, args.curve_every)


if __name__ == '__main__':
    main()
