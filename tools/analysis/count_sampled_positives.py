"""How many positive RoIs the RoI head's sampler gives it per training image, under several
sampler settings, on the same proposals: a trained (or fresh) detector's RPN proposes on
training batches, mmdet's assigner labels the proposals, and each ``NUMxFRACTION`` setting
(mmdet's ``RandomSampler``, ground truth added as proposals) samples from the same assignment.

    python tools/analysis/count_sampled_positives.py hce_scene vanilla-roi64 \
        [--checkpoint RUN/iter_1200.pth] [--seed 0] [--batches 12] \
        [--samplers 128x0.25 64x0.25 64x0.5] [--data-root DIR]

The ladder variant gives the config, its edits and the built-in data (as ``compare.py``); its
training proposal settings (``train_cfg.rpn_proposal``) make the proposals. Prints the
positives available per image (proposals with IoU >= the assigner's ``pos_iou_thr`` plus the
ground truth) and, per setting, the mean / median / max sampled positives per image.
"""
import argparse
import copy
import os.path as osp
import statistics
import sys
import tempfile

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))


def parse_sampler(text: str) -> dict:
    """``'64x0.5'`` -> mmdet ``RandomSampler`` config with num=64, pos_fraction=0.5."""
    try:
        num, frac = text.lower().split('x')
        num, frac = int(num), float(frac)
    except ValueError:
        raise argparse.ArgumentTypeError(f'sampler {text!r}: expected NUMxFRACTION, e.g. 64x0.5')
    if num <= 0 or not 0 < frac <= 1:
        raise argparse.ArgumentTypeError(f'sampler {text!r}: NUM > 0 and 0 < FRACTION <= 1')
    return dict(type='RandomSampler', num=num, pos_fraction=frac, neg_pos_ub=-1,
                add_gt_as_proposals=True)


def count_positives(model, batches, samplers: dict) -> dict:
    """Per image: positives available and sampled by each of ``samplers`` ({name: cfg})."""
    import torch
    from mmdet.registry import TASK_UTILS
    built = {k: TASK_UTILS.build(cfg) for k, cfg in samplers.items()}
    proposal_cfg = model.train_cfg.rpn_proposal
    assigner = model.roi_head.bbox_assigner
    out = dict(available=[], **{k: [] for k in built})
    model.train()  # the training path's data preprocessing and RPN settings
    with torch.no_grad():
        for batch in batches:
            data = model.data_preprocessor(batch, True)
            feats = model.extract_feat(data['inputs'])
            metas = [d.metainfo for d in data['data_samples']]
            proposals = model.rpn_head.predict_by_feat(
                *model.rpn_head(feats), batch_img_metas=metas, cfg=proposal_cfg, rescale=False)
            for props, sample in zip(proposals, data['data_samples']):
                props.priors = props.pop('bboxes')
                assign = assigner.assign(props, sample.gt_instances)
                out['available'].append(int((assign.gt_inds > 0).sum())
                                        + len(sample.gt_instances))
                for k, sampler in built.items():  # add_gt_ edits the assignment: one copy each
                    res = sampler.sample(copy.deepcopy(assign), props, sample.gt_instances)
                    out[k].append(len(res.pos_inds))
    return out


def summary(counts: dict) -> str:
    lines = []
    for k, vals in counts.items():
        label = 'available' if k == 'available' else f'sampled {k}'
        lines.append(f'{label:>18s}: mean {statistics.mean(vals):5.1f}  median '
                     f'{statistics.median(vals):5.1f}  max {max(vals):3d}  ({len(vals)} images)')
    return '\n'.join(lines)


def main(argv=None):
    from compare import LADDERS, build_variant_runner, data_root_for
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('ladder', choices=list(LADDERS))
    p.add_argument('variant')
    p.add_argument('--checkpoint', help='trained weights (default: the shared initial ones)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--batches', type=int, default=12)
    p.add_argument('--samplers', nargs='+', type=parse_sampler,
                   default=[parse_sampler(s) for s in ('128x0.25', '64x0.25', '64x0.5')])
    p.add_argument('--data-root', help='default: the built-in data of data seed 0')
    args = p.parse_args(argv)
    if args.checkpoint and not osp.isfile(args.checkpoint):
        raise SystemExit(f'{args.checkpoint}: no such checkpoint')
    import torch
    from mmengine.runner import load_checkpoint
    ladder = LADDERS[args.ladder]
    data_root = args.data_root or data_root_for(0)
    with tempfile.TemporaryDirectory() as work:
        runner = build_variant_runner(ladder, ladder.variant(args.variant), args.seed, 1,
                                      data_root, work, dict(checkpoint_of={}))
        runner.load_or_resume()  # the shared initial weights
        if args.checkpoint:
            load_checkpoint(runner.model, args.checkpoint, map_location='cpu')
        torch.manual_seed(args.seed)
        loader = iter(runner.train_dataloader)
        batches = [next(loader) for _ in range(args.batches)]
        samplers = {f"{s['num']}x{s['pos_fraction']}": s for s in args.samplers}
        counts = count_positives(runner.model, batches, samplers)
    print(summary(counts))
    return counts


if __name__ == '__main__':
    main()
