"""Is a head's classifier or its RoI feature the weak part? One measurement on ground-truth boxes.

    python tools/analysis/probe_classifier.py WORK_DIR [WORK_DIR ...] [--batches 40]
        [--train-split lt_train]

WORK_DIR is a ``compare.py`` run folder (its dumped config and last checkpoint). Every ground-truth
box of the first ``--batches`` validation batches is taken as a RoI; per class, two ranking APs of
those RoIs (positives: the class's boxes; chance = the class's share of the boxes):

* ``own``: by the head's own class probability (softmax of its ``cls_score``; what the LVIS
  evaluation ranks);
* ``ncm``: by the cosine between the RoI's trunk feature (shared fcs + ReLU) and the class's mean
  trunk feature over the GT boxes of ``--train-split`` (nearest class mean, no training).

``ncm`` high and ``own`` low: the features separate the class and the classifier does not.
"""
import argparse
import os.path as osp
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from probe_embedding import batches, gt_box_roi_feats, image_ap, load  # noqa: E402


@torch.no_grad()
def gt_roi_features(model, cfg, split, max_batches):
    """Trunk features, labels and the head's class probabilities of every GT box."""
    loader, classes = batches(cfg, split)
    head = model.roi_head.bbox_head
    feats, labels, probs = [], [], []
    for roi_feats, y in gt_box_roi_feats(model, loader, max_batches):
        probs.append(head(roi_feats)[0].softmax(1))
        f = roi_feats.flatten(1)
        for fc in head.shared_fcs:
            f = head.relu(fc(f))
        feats.append(f)
        labels.append(y)
    return torch.cat(feats), torch.cat(labels), torch.cat(probs), classes


def probe(work_dir: str, max_batches: int, train_split: str) -> dict:
    """``{class: (n_val, n_train, own AP, ncm AP)}`` for one run."""
    cfg, model = load(work_dir, None)
    f_tr, y_tr, _, classes = gt_roi_features(model, cfg, train_split, None)
    f_va, y_va, p_va, _ = gt_roi_features(model, cfg, None, max_batches)
    means = torch.stack([F.normalize(f_tr[y_tr == c], dim=1).mean(0) if (y_tr == c).any()
                         else f_tr.new_zeros(f_tr.shape[1]) for c in range(len(classes))])
    ncm = F.normalize(f_va, dim=1) @ F.normalize(means, dim=1).t()
    return {name: (int((y_va == c).sum()), int((y_tr == c).sum()),
                   image_ap(p_va[:, c].numpy(), (y_va == c).numpy()),
                   image_ap(ncm[:, c].numpy(), (y_va == c).numpy()))
            for c, name in enumerate(classes) if (y_va == c).any()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('work_dirs', nargs='+')
    p.add_argument('--batches', type=int, default=40, help='validation batches to read')
    p.add_argument('--train-split', default='lt_train')
    args = p.parse_args(argv)
    for wd in args.work_dirs:
        rows = probe(wd, args.batches, args.train_split)
        print(f'{osp.basename(osp.normpath(wd))}: class (n val, n train) own / ncm AP %')
        print('  ' + '  '.join(f'{n} ({nv}, {nt}) {a * 100:.0f} / {b * 100:.0f}'
                               for n, (nv, nt, a, b) in rows.items()), flush=True)


if __name__ == '__main__':
    main()
