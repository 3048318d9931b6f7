"""Generate the built-in SynthScenes dataset (images + COCO/LVIS JSON), deterministic by seed.

    python tools/make_dataset.py --out data/hce_synth [--img-size 128] [--seed 0]
        [--context-train 480 ...] [--only context_train context_val]

Splits: context_{train,val} (context-dependent class pairs), lt_{train,val} (long-tailed with
LVIS fields), fog_source_{train,val} (clear), fog_target_{train,val} (Foggy-Cityscapes fog).
Reruns with the same arguments are skipped (a stamp records them); --force regenerates.
"""
import argparse
import dataclasses
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from hce_det.datasets.synthetic import SuiteSpec, generate_suite  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='data/hce_synth')
    p.add_argument('--only', nargs='+', help='generate only these splits')
    p.add_argument('--force', action='store_true')
    for f in dataclasses.fields(SuiteSpec):
        if f.name != 'splits':
            p.add_argument('--' + f.name.replace('_', '-'), type=type(f.default), default=f.default)
    args = p.parse_args(argv)
    suite = SuiteSpec(**{f.name: getattr(args, f.name) for f in dataclasses.fields(SuiteSpec)
                         if f.name != 'splits'})
    stamp = osp.join(args.out, '.stamp.json')
    key = dict(suite=dataclasses.asdict(suite), only=args.only, version=2)
    if not args.force and osp.isfile(stamp) and json.load(open(stamp)) == key:
        print(f'{args.out}: up to date (use --force to regenerate)')
        return
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    out = generate_suite(args.out, suite, only=args.only, progress=lambda m: print('  ' + m))
    n_img = sum(len(d['images']) for d in out.values())
    n_ann = sum(len(d['annotations']) for d in out.values())
    json.dump(key, open(stamp, 'w'))
    print(f'{args.out}: {n_img} images, {n_ann} boxes in {time.time() - t0:.1f}s')


if __name__ == '__main__':
    main()
