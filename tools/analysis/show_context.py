"""Draw what HCE sees in one image: detections, top image-level category scores, and the category
map of one class as a heat map (PNG).

    python tools/analysis/show_context.py CONFIG IMAGE --out ctx.png [--checkpoint CKPT]
        [--cls boat] [--score-thr 0.3] [--topk 5] [--ann-file ANN.json | --ann-file none]

``CONFIG`` must use an HCE RoI head (``HCERoIHead``, ``HCECascadeRoIHead`` or any
``HCE<Base>``). Without ``--checkpoint`` the weights are random (useful only to check the script).
Ground truth is drawn next to the detections (dashed, labelled ``gt <class>``), so a wrong
detection no longer looks right: the boxes of IMAGE in ``--ann-file`` (COCO JSON; default the
config's test annotations).
"""
import argparse
import os.path as osp
import sys

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def test_scale(cfg):
    for t in cfg.test_dataloader.dataset.pipeline:
        if t['type'] == 'Resize':
            return t.get('scale'), t.get('keep_ratio', True)
    return None, True


def load_model(config, checkpoint, device):
    import hce_det  # noqa: F401
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    model.init_weights()
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu')
    if not hasattr(model.roi_head, 'image_context'):
        raise SystemExit(f'{config}: roi_head.type={type(model.roi_head).__name__} has no HCE '
                         'context; use an HCE config')
    return cfg, model.to(device).eval()


def prepare(cfg, model, image_path):
    from mmcv.transforms import Compose
    scale, keep_ratio = test_scale(cfg)
    steps = [dict(type='LoadImageFromFile')]
    if scale is not None:
        steps.append(dict(type='Resize', scale=scale, keep_ratio=keep_ratio))
    steps.append(dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                                        'img_shape', 'scale_factor')))
    import mmdet.datasets.transforms  # noqa: F401  (registers the transforms)
    from mmdet.registry import TRANSFORMS
    pipeline = Compose([TRANSFORMS.build(s) for s in steps])
    data = pipeline(dict(img_path=image_path, img_id=0))
    return model.data_preprocessor(dict(inputs=[data['inputs']],
                                        data_samples=[data['data_samples']]), False)


def default_ann_file(cfg):
    """The COCO annotation file of ``cfg``'s test set (``data_root`` + ``ann_file``), or None."""
    ds = cfg.test_dataloader.dataset
    while 'ann_file' not in ds and 'dataset' in ds:  # wrappers
        ds = ds.dataset
    if not ds.get('ann_file'):
        return None
    return osp.join(ds.get('data_root') or '', ds.ann_file)


def load_gt(ann_file, image_path):
    """Ground-truth boxes (N x 4, xyxy, original pixels) and class names of ``image_path``.

    The image is found by its ``file_name`` (a path suffix of ``image_path``, else the same
    base name); an image that is not in ``ann_file`` has no boxes. Crowd boxes are skipped.
    """
    import json
    with open(ann_file) as f:
        coco = json.load(f)
    path = osp.normpath(osp.abspath(image_path))
    ims = [im for im in coco['images'] if path.endswith(osp.sep + osp.normpath(im['file_name']))]
    if not ims:
        ims = [im for im in coco['images']
               if osp.basename(im['file_name']) == osp.basename(image_path)]
    if len(ims) != 1:
        return np.zeros((0, 4), np.float32), []
    names = {c['id']: c['name'] for c in coco['categories']}
    anns = [a for a in coco['annotations']
            if a['image_id'] == ims[0]['id'] and not a.get('iscrowd', 0)]
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)],
                     np.float32).reshape(-1, 4)
    return boxes, [names[a['category_id']] for a in anns]


def draw_gt(ax, boxes, names, color='magenta'):
    """Draw ground-truth boxes on matplotlib axes ``ax``: dashed outlines, each labelled
    ``gt <class>`` under its bottom-left corner. Returns the added artists."""
    import matplotlib.pyplot as plt
    artists = []
    for (x1, y1, x2, y2), name in zip(np.asarray(boxes).tolist(), names):
        artists.append(ax.add_patch(plt.Rectangle(
            (x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color, linewidth=1.5,
            linestyle=(0, (4, 2)))))
        artists.append(ax.text(x1, y2, f'gt {name}', color='white', fontsize=7, va='top',
                               bbox=dict(facecolor=color, alpha=0.7, pad=1, linewidth=0)))
    return artists


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('image')
    p.add_argument('--checkpoint')
    p.add_argument('--out', default='context.png')
    p.add_argument('--cls', help='class whose category map is drawn (default: top image score)')
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--topk', type=int, default=5)
    p.add_argument('--device', default='cpu')
    p.add_argument('--ann-file', help="COCO JSON with IMAGE's ground truth (default: the "
                   "config's test annotations; 'none': draw no ground truth)")
    args = p.parse_args(argv)

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import torch.nn.functional as F

    cfg, model = load_model(args.config, args.checkpoint, args.device)
    classes = model.dataset_meta['classes'] if getattr(model, 'dataset_meta', None) else None
    if classes is None:
        from mmdet.registry import DATASETS
        ds_type = DATASETS.get(cfg.test_dataloader.dataset.type)
        classes = ds_type.METAINFO['classes']
    batch = prepare(cfg, model, args.image)
    with torch.no_grad():
        det = model.predict(batch['inputs'], batch['data_samples'], rescale=False)[0]
        ctx = model.roi_head.image_context(model.extract_feat(batch['inputs']))
    scores = ctx.img_logits[0].sigmoid()
    if args.cls is None:
        cls_idx = int(scores.argmax())
    elif args.cls in classes:
        cls_idx = classes.index(args.cls)
    else:
        raise SystemExit(f'--cls {args.cls!r} not in {list(classes)}')

    meta = batch['data_samples'][0].metainfo
    h, w = meta['img_shape']
    raw = batch['inputs'][0]
    mean = model.data_preprocessor.mean.view(-1, 1, 1)
    std = model.data_preprocessor.std.view(-1, 1, 1)
    img = (raw * std + mean)[:, :h, :w].permute(1, 2, 0).cpu().numpy()
    if not getattr(model.data_preprocessor, '_channel_conversion', False):
        img = img[..., ::-1]  # the model sees BGR: flip for display
    img = np.clip(img / 255.0, 0, 1)
    stride = meta['batch_input_shape'][0] / ctx.cat_maps.shape[-2]
    cam = F.interpolate(ctx.cat_maps[:, cls_idx:cls_idx + 1], scale_factor=stride,
                        mode='bilinear', align_corners=False)[0, 0, :h, :w].cpu().numpy()

    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    axes[0].imshow(img)
    pred = det.pred_instances
    keep = pred.scores >= args.score_thr
    for box, lab, sc in zip(pred.bboxes[keep], pred.labels[keep], pred.scores[keep]):
        x1, y1, x2, y2 = box.tolist()
        axes[0].add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color='lime'))
        axes[0].text(x1, y1, f'{classes[int(lab)]} {float(sc):.2f}', color='black', fontsize=7,
                     bbox=dict(facecolor='lime', alpha=0.7, pad=1))
    # ground truth on top of the detections
    ann_file = default_ann_file(cfg) if args.ann_file is None else args.ann_file
    if ann_file and ann_file.lower() != 'none':
        if osp.isfile(ann_file):
            gt_boxes, gt_names = load_gt(ann_file, args.image)
            sx, sy = meta.get('scale_factor', (1.0, 1.0))  # detections: resized image
            draw_gt(axes[0], gt_boxes * np.array([sx, sy, sx, sy], np.float32), gt_names)
            if not gt_names:
                print(f'{args.image}: no ground truth in {ann_file}')
        else:
            print(f'no ground truth drawn: {ann_file} does not exist')
    top = torch.topk(scores, min(args.topk, len(scores)))
    axes[0].set_title('image-level: ' + ', '.join(
        f'{classes[int(i)]} {float(s):.2f}' for s, i in zip(top.values, top.indices)), fontsize=8)
    axes[1].imshow(img)
    hm = axes[1].imshow(cam, cmap='jet', alpha=0.5)
    fig.colorbar(hm, ax=axes[1], fraction=0.046)
    axes[1].set_title(f'category map: {classes[cls_idx]} (score {float(scores[cls_idx]):.2f})',
                      fontsize=9)
    for ax in axes:
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
