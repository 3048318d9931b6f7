"""Can the image-level branch of HCE tell which classes an image holds? Two measurements.

    # the trained HCE model's own image-level scores on its validation split
    python tools/analysis/probe_embedding.py own WORK_DIR [--checkpoint iter_300.pth]
    # a frozen-feature probe: train an image-level head on a trained detector's FPN features
    python tools/analysis/probe_embedding.py probe WORK_DIR [--steps 300 1000] [--num-convs 0 1]
        [--levels 1] [--optim sgd adam] [--train-split context_cooc_train]

WORK_DIR is a ``compare.py`` run folder (``work_dirs/compare/<ladder>/work/<variant>__seed<S>``:
its dumped config and checkpoint). Both print the image-level AP per class (ranking images by
the class score; chance = the class's prevalence, printed too), and the mean over the context
(twin) classes and over the others. ``probe`` caches the detector's FPN features of the train and
val splits once, then trains, for every combination of the options, a head like
``CategoricalEmbedding`` (``num_convs`` 3x3 conv + ReLU, 1x1 conv to class maps, GAP + GMP,
mean BCE times ``--loss-weight``; ``--mix mix``: plus a K x K layer on the pooled logits, so
a class's image score can read the other classes' -- co-occurrence), batch 8, SGD (lr 0.02,
momentum 0.9, wd 1e-4, as the detector) or Adam (lr 1e-3).
"""
import argparse
import copy
import glob
import itertools
import os.path as osp
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)


def load(work_dir, checkpoint):
    import hce_det  # noqa: F401
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfgs = glob.glob(osp.join(work_dir, '*.py'))
    if len(cfgs) != 1:
        raise SystemExit(f'{work_dir}: expected one dumped config (*.py), found {len(cfgs)}')
    ckpt = osp.join(work_dir, checkpoint) if checkpoint else _last_checkpoint(work_dir)
    cfg = Config.fromfile(cfgs[0])
    model = MODELS.build(cfg.model)
    load_checkpoint(model, ckpt, map_location='cpu', logger='silent')
    return cfg, model.eval()


def _last_checkpoint(work_dir):
    found = sorted(glob.glob(osp.join(work_dir, 'iter_*.pth')),
                   key=lambda p: int(osp.basename(p)[5:-4]))
    if not found:
        raise SystemExit(f'{work_dir}: no iter_*.pth checkpoint')
    return found[-1]


def batches(cfg, split=None):
    """Validation-pipeline batches of the config's val split (or ``split``'s annotations)."""
    from mmengine.runner import Runner
    dl = copy.deepcopy(cfg.val_dataloader)  # a shallow copy would rename the config's own file
    dl.update(num_workers=0, persistent_workers=False)
    if split:
        ann = dl.dataset.ann_file
        dl.dataset.ann_file = osp.join(osp.dirname(ann), f'{split}.json')
    loader = Runner.build_dataloader(dl)
    return loader, loader.dataset.metainfo['classes']


def gt_box_roi_feats(model, loader, max_batches=None):
    """Per batch of ``loader`` (the first ``max_batches``): the box RoI features of its
    ground-truth boxes (the RoI extractor's output) and their labels. Call under no_grad."""
    from mmdet.structures.bbox import bbox2roi
    extractor = model.roi_head.bbox_roi_extractor
    for i, batch in enumerate(loader):
        if i == max_batches:
            break
        data = model.data_preprocessor(batch, False)
        x = model.extract_feat(data['inputs'])
        gts = [ds.gt_instances for ds in data['data_samples']]
        yield (extractor(x[:extractor.num_inputs], bbox2roi([g.bboxes for g in gts])),
               torch.cat([g.labels for g in gts]))


def multi_hot(data_samples, k):
    from hce_det.models.layers.image_labels import multi_hot_labels
    return multi_hot_labels([ds.gt_instances.labels for ds in data_samples], k)


def image_ap(scores, y):
    """AP of ranking images by ``scores`` for one class (all positives counted)."""
    order = np.argsort(-scores, kind='stable')
    hits = y[order]
    prec = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((prec * hits).sum() / max(hits.sum(), 1))


def report(name, scores, y, classes):
    from hce_det.datasets.synthetic import CONTEXT_CLASSES
    aps = [image_ap(scores[:, k], y[:, k]) for k in range(len(classes))]
    ctx = [a for a, c in zip(aps, classes) if c in CONTEXT_CLASSES]
    rest = [a for a, c in zip(aps, classes) if c not in CONTEXT_CLASSES]
    print(f'{name:34s} twin {np.mean(ctx):.2f} other {np.mean(rest):.2f} | '
          + ' '.join(f'{c}={a:.2f}' for c, a in zip(classes, aps)), flush=True)


@torch.no_grad()
def own(args):
    cfg, model = load(args.work_dir, args.checkpoint)
    loader, classes = batches(cfg)
    scores, ys = [], []
    for batch in loader:
        data = model.data_preprocessor(batch, False)
        x = model.extract_feat(data['inputs'])
        scores.append(model.roi_head.image_context(x).img_logits.sigmoid())
        ys.append(multi_hot(data['data_samples'], len(classes)))
    y = torch.cat(ys).numpy()
    print('prevalence ' + ' '.join(f'{c}={p:.2f}' for c, p in zip(classes, y.mean(0))))
    report('own image-level branch', torch.cat(scores).numpy(), y, classes)


@torch.no_grad()
def features(model, cfg, split):
    loader, classes = batches(cfg, split)
    feats, ys = [], []
    for batch in loader:
        data = model.data_preprocessor(batch, False)
        feats.append([f.clone() for f in model.extract_feat(data['inputs'])])
        ys.append(multi_hot(data['data_samples'], len(classes)))
    return [torch.cat(level) for level in zip(*feats)], torch.cat(ys), classes


class ProbeHead(nn.Module):
    """``num_convs`` x (3x3 conv, ReLU) -> 1x1 conv to K maps -> GAP + GMP (as the module);
    ``mix``: then a K x K linear layer (not in the module)."""

    def __init__(self, channels, num_classes, num_convs, level, cat_std=0.01, mix=False):
        super().__init__()
        self.level = level
        self.convs = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1)
                                   for _ in range(num_convs))
        for c in self.convs:
            nn.init.kaiming_normal_(c.weight, mode='fan_out', nonlinearity='relu')
            nn.init.zeros_(c.bias)
        self.cat_conv = nn.Conv2d(channels, num_classes, 1)
        nn.init.normal_(self.cat_conv.weight, std=cat_std)
        nn.init.zeros_(self.cat_conv.bias)
        # ``mix``: a K x K linear layer on the pooled logits (identity at init; built last, so
        # the other layers draw the same initial weights as without it), so one class's
        # image score can read the others' (co-occurrence); the module itself has none
        self.mix = nn.Linear(num_classes, num_classes) if mix else None
        if mix:
            nn.init.eye_(self.mix.weight)
            nn.init.zeros_(self.mix.bias)

    def forward(self, feats):
        x = feats[self.level]
        for c in self.convs:
            x = F.relu(c(x))
        maps = self.cat_conv(x)
        logits = maps.mean((2, 3)) + maps.amax((2, 3))
        return logits if self.mix is None else self.mix(logits)


def probe(args):
    cfg, model = load(args.work_dir, args.checkpoint)
    f_tr, y_tr, classes = features(model, cfg, args.train_split)
    f_va, y_va, _ = features(model, cfg, None)
    print('prevalence ' + ' '.join(f'{c}={p:.2f}' for c, p in zip(classes, y_va.mean(0))))
    for steps, convs, level, optim, std, weight, mix in itertools.product(
            args.steps, args.num_convs, args.levels, args.optim, args.cat_std, args.loss_weight,
            args.mix):
        torch.manual_seed(0)
        head = ProbeHead(f_tr[level].shape[1], len(classes), convs, level, std, mix == 'mix')
        opt = (torch.optim.Adam(head.parameters(), lr=1e-3) if optim == 'adam' else
               torch.optim.SGD(head.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4))
        gen = torch.Generator().manual_seed(0)
        for _ in range(steps):
            idx = torch.randint(0, len(y_tr), (8,), generator=gen)
            loss = weight * F.binary_cross_entropy_with_logits(head([f[idx] for f in f_tr]),
                                                               y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            scores = head(f_va).sigmoid().numpy()
        report(f'P{level + 2} convs={convs} {optim} std={std} w={weight} {mix} {steps} steps',
               scores, y_va.numpy(), classes)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('mode', choices=['own', 'probe'])
    p.add_argument('work_dir')
    p.add_argument('--checkpoint', help='file in WORK_DIR (default: the last iter_*.pth)')
    p.add_argument('--steps', type=int, nargs='+', default=[300, 1000])
    p.add_argument('--num-convs', type=int, nargs='+', default=[0, 1])
    p.add_argument('--levels', type=int, nargs='+', default=[1], help='FPN index (1 = P3)')
    p.add_argument('--optim', nargs='+', choices=['sgd', 'adam'], default=['sgd'])
    p.add_argument('--cat-std', type=float, nargs='+', default=[0.01],
                   help='init std of the class-map conv')
    p.add_argument('--loss-weight', type=float, nargs='+', default=[1.0])
    p.add_argument('--train-split', default='context_cooc_train')
    p.add_argument('--mix', nargs='+', choices=['plain', 'mix'], default=['plain'],
                   help='mix: a K x K layer on the pooled logits (cross-class co-occurrence)')
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    (own if args.mode == 'own' else probe)(args)


if __name__ == '__main__':
    main()
