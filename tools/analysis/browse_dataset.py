"""Browse a dataset as the model gets it, also the two-domain CR-DA ones (source and target).

    python tools/analysis/browse_dataset.py CONFIG --output-dir DIR --not-show [--max-images N]
        [--split train|val|test] [--show-interval 2] [--cfg-options KEY=VALUE ...]

mmdet's ``tools/analysis_tools/browse_dataset.py`` stops with ``'dict' object has no attribute
'permute'`` on configs whose pipelines end in ``MultiBranch`` (``configs/cr_da/``,
``configs/_base_/datasets/*_da.py``): each item is then a dict of branches
(``{'source': tensor, 'target': None}``). Here every branch present in an item is drawn with its
ground truth and labelled with its name, into ``DIR/<branch>/``; a ``ConcatDataset`` (source +
target) is browsed member by member (``--max-images`` each), so both domains are shown. Plain
datasets work as with mmdet's script (images directly in ``DIR``).
"""
import argparse
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def branches(item):
    """``(branch or None, inputs, data_sample)`` for each branch present in a dataset item."""
    inputs, samples = item['inputs'], item['data_samples']
    if not isinstance(inputs, dict):
        yield None, inputs, samples
        return
    for name, x in inputs.items():
        if x is not None:
            yield name, x, samples[name]


def draw(visualizer, inputs, data_sample, label=None):
    """RGB image of ``inputs`` (C x H x W, BGR) with the ground truth of ``data_sample`` and,
    if given, ``label`` in the top-left corner."""
    from mmdet.models.utils import mask2ndarray
    from mmdet.structures.bbox import BaseBoxes
    img = inputs.permute(1, 2, 0).numpy()[..., [2, 1, 0]]  # bgr to rgb
    data_sample = data_sample.numpy()
    gt = data_sample.gt_instances
    if isinstance(gt.get('bboxes', None), BaseBoxes):
        gt.bboxes = gt.bboxes.tensor
    if gt.get('masks', None) is not None:
        gt.masks = mask2ndarray(gt.masks).astype(bool)
    data_sample.gt_instances = gt
    visualizer.add_datasample('browse', img, data_sample, draw_pred=False, show=False)
    out = visualizer.get_image()
    if label:
        visualizer.set_image(out)
        size = max(8, min(out.shape[:2]) // 12)
        visualizer.draw_texts(label, np.array([2, 2]), colors='white', font_sizes=size,
                              vertical_alignments='top',
                              bboxes=dict(facecolor='black', alpha=0.7, pad=1, edgecolor='none'))
        out = visualizer.get_image()
    return out


def browse(cfg, output_dir=None, split='train', max_images=None, show=False, wait_time=2):
    """Draw the first ``max_images`` items (all if None) of every dataset member of
    ``cfg.<split>_dataloader``; returns the written file paths."""
    import mmcv
    from mmengine.registry import init_default_scope

    from hce_det.engine.runs import own_visualizer
    from mmdet.registry import DATASETS, VISUALIZERS
    init_default_scope('mmdet')
    dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    vis_cfg = dict(cfg.get('visualizer') or dict(type='DetLocalVisualizer'))
    vis_cfg.pop('vis_backends', None)  # nothing to log: images go to output_dir
    visualizer = VISUALIZERS.build(own_visualizer(dict(visualizer=vis_cfg))['visualizer'])
    written = []
    for member in getattr(dataset, 'datasets', None) or [dataset]:
        visualizer.dataset_meta = member.metainfo
        n = len(member) if max_images is None else min(max_images, len(member))
        for i in range(n):
            for branch, inputs, sample in branches(member[i]):
                img = draw(visualizer, inputs, sample, branch)
                name = osp.basename(sample.img_path)
                if show:
                    visualizer.show(img, win_name=f'{branch}: {name}' if branch else name,
                                    wait_time=wait_time)
                if output_dir is not None:
                    out = osp.join(output_dir, branch or '', name)
                    mmcv.imwrite(img[..., ::-1], out)  # rgb to bgr
                    written.append(out)
    return written


def main(argv=None):
    from mmengine.config import Config, DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--output-dir', help='write the drawn images here (DIR/<branch>/ per branch)')
    p.add_argument('--not-show', action='store_true', help='do not open a window per image')
    p.add_argument('--show-interval', type=float, default=2, help='seconds per shown image')
    p.add_argument('--split', default='train', choices=['train', 'val', 'test'])
    p.add_argument('--max-images', type=int, help='first N images of each dataset (default all)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config keys, e.g. train_dataloader.dataset.datasets.0.'
                        'data_root=data/x/')
    args = p.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    import hce_det  # noqa: F401  (LoadImageChecked, SynthScenesDataset, ...)
    written = browse(cfg, args.output_dir, args.split, args.max_images, not args.not_show,
                     args.show_interval)
    if args.output_dir is not None:
        print(f'wrote {len(written)} images to {args.output_dir}')


if __name__ == '__main__':
    main()
