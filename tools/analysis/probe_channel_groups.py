"""How many distinct channel maps does a detector's RoI feature keep? SEF's grouping term, measured.

    python tools/analysis/probe_channel_groups.py WORK_DIR [WORK_DIR ...] [--batches 20]
        [--groups 4]

WORK_DIR is a ``compare.py`` run folder (its dumped config and last checkpoint). Every ground-truth
box of the first ``--batches`` validation batches is taken as a RoI and its RoI feature (C, 7, 7)
read from the box RoI extractor (the input of SEF's grouping term). Per run, averaged over the
RoIs:

* ``intra R^2`` / ``inter R^2``: mean squared cosine similarity of two channel maps in the same
  / in different groups of ``--groups`` (SEF's split: :func:`group_sizes`); SEF's grouping loss
  drives intra to 1 and inter to 0;
* ``distinct maps``: participation ratio of the channel-similarity matrix R, (sum l)^2 / sum l^2
  over its eigenvalues l: C for C orthogonal maps, 1 when every channel is one map up to scale,
  ~K when the channels form K groups of collinear maps.
"""
import argparse
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from probe_embedding import batches, gt_box_roi_feats, load  # noqa: E402


@torch.no_grad()
def gt_roi_feats(model, cfg, max_batches: int) -> torch.Tensor:
    """(N, C, h, w) box RoI features of the ground-truth boxes of the first validation batches."""
    loader, _ = batches(cfg)
    return torch.cat([f for f, _ in gt_box_roi_feats(model, loader, max_batches)])


def channel_group_stats(feats: torch.Tensor, num_groups: int) -> dict:
    """``intra`` / ``inter`` mean R^2 and ``distinct`` (participation ratio of R), RoI means."""
    from hce_det.models.recognition.sef import channel_similarity, group_sizes
    r = channel_similarity(feats)                                  # (N, C, C)
    r2 = r.pow(2)
    c = r.shape[1]
    group = torch.repeat_interleave(torch.arange(num_groups),
                                    torch.tensor(group_sizes(c, num_groups)))
    same = group[:, None] == group[None, :]
    off = ~torch.eye(c, dtype=torch.bool)
    eig = torch.linalg.eigvalsh(r).clamp(min=0)
    distinct = eig.sum(-1).pow(2) / eig.pow(2).sum(-1)
    return dict(intra=float(r2[:, same & off].mean()), inter=float(r2[:, ~same].mean()),
                distinct=float(distinct.mean()), channels=c, rois=int(r.shape[0]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('work_dirs', nargs='+')
    p.add_argument('--batches', type=int, default=20, help='validation batches to read')
    p.add_argument('--groups', type=int, default=4, help="SEF's number of channel groups")
    args = p.parse_args(argv)
    for wd in args.work_dirs:
        cfg, model = load(wd, None)
        s = channel_group_stats(gt_roi_feats(model, cfg, args.batches), args.groups)
        print(f"{osp.basename(osp.normpath(wd))}: {s['rois']} RoIs, {s['channels']} channels: "
              f"intra R^2 {s['intra']:.3f}, inter R^2 {s['inter']:.3f}, "
              f"distinct maps {s['distinct']:.1f}", flush=True)


if __name__ == '__main__':
    main()
