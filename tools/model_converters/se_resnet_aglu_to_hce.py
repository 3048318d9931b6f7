"""Convert a reference SE-ResNet-AGLU ImageNet checkpoint to ``SEResNetAGLU`` parameter names.

The AGLU release (kostas1515/AGLU; ImageNet models from ``classification/``, loaded by the LVIS
recipe ``mmdetection_v3.2/configs/activations/mask_rcnn_r50_fpn_8x2_sample1e-3_mstrain_lvis_2x.py``
as ``imagenet_full_se_r50_..._99.pth``) names the block activations ``unirect1-3``, the SE
layers ``se.excitation.0`` / ``se.excitation.2`` and the SE gate ``se.uniact``; ours are
``act1-3``, ``se.fc1`` / ``se.fc2`` and ``se.gate``. Loaded unconverted, none of those would
match (mmengine loads with strict=False and only logs missing keys). Everything else (conv*,
bn*, downsample.*, the stem ``relu`` AGLU, ``se.norm`` and the ``lambda_param`` /
``kappa_param`` leaves) already has our names; the classifier ``fc.*`` is dropped.

    python tools/model_converters/se_resnet_aglu_to_hce.py REF.pth OUT.pth [--depth 50]

``OUT.pth`` holds ``{'state_dict': ..., 'meta': ...}`` for
``backbone.init_cfg=dict(type='Pretrained', checkpoint=OUT.pth)``. The converted keys are
checked against an ``SEResNetAGLU`` of the given (or inferred) depth: any missing or left-over
key is an error. Reading uses torch's safe loader; of the non-tensor classes a training
checkpoint holds, only ``argparse.Namespace`` (the training ``args``) is allowed.
"""
import argparse
import re
import sys
from collections import OrderedDict
from os import path as osp

import torch

RULES = [  # (reference pattern, our replacement), applied in order to every key
    (r'^module\.', ''),
    (r'\.unirect(\d)\.', r'.act\1.'),
    (r'\.se\.excitation\.0\.', '.se.fc1.'),
    (r'\.se\.excitation\.2\.', '.se.fc2.'),
    (r'\.se\.uniact\.', '.se.gate.'),
]
DROP = re.compile(r'^(module\.)?fc\.')  # the ImageNet classifier


def convert_key(key: str) -> str:
    for pattern, repl in RULES:
        key = re.sub(pattern, repl, key)
    return key


def convert_state_dict(state: dict) -> 'OrderedDict[str, torch.Tensor]':
    """Reference SE-ResNet-AGLU names -> ``SEResNetAGLU`` names (``fc.*`` dropped)."""
    out = OrderedDict()
    for k, v in state.items():
        if DROP.match(k):
            continue
        new = convert_key(k)
        if new in out:
            raise ValueError(f'two checkpoint keys map to {new!r}')
        out[new] = v
    return out


def extract_state_dict(ckpt) -> dict:
    """The weights of a checkpoint: its ``model`` (torchvision reference train.py) or
    ``state_dict`` entry, else the dict itself."""
    if isinstance(ckpt, dict):
        for key in ('model', 'state_dict'):
            if isinstance(ckpt.get(key), dict):
                return ckpt[key]
    if not isinstance(ckpt, dict) or not all(torch.is_tensor(v) for v in ckpt.values()):
        raise ValueError('no state dict found (expected a dict of tensors, or one under '
                         '"model" / "state_dict")')
    return ckpt


def infer_depth(state: dict) -> int:
    blocks = {int(m.group(1)) for k in state for m in [re.match(r'^layer3\.(\d+)\.', k)] if m}
    n = max(blocks) + 1 if blocks else 0
    depth = {6: 50, 23: 101, 36: 152}.get(n)
    if depth is None:
        raise ValueError(f'cannot infer the depth from {n} layer3 blocks; pass --depth')
    return depth


def check_against_model(state: dict, depth: int, base_channels: int = 64) -> None:
    import hce_det  # noqa: F401  (registers SEResNetAGLU)
    from hce_det.models.backbones.se_resnet_aglu import SEResNetAGLU
    ours = SEResNetAGLU(depth=depth, base_channels=base_channels,
                        stem_channels=base_channels).state_dict()
    missing = sorted(set(ours) - set(state))
    extra = sorted(set(state) - set(ours))
    bad = [k for k in set(ours) & set(state) if tuple(ours[k].shape) != tuple(state[k].shape)]
    if missing or extra or bad:
        raise ValueError(
            f'converted keys do not match SEResNetAGLU(depth={depth}): '
            f'{len(missing)} missing (e.g. {missing[:3]}), {len(extra)} left over '
            f'(e.g. {extra[:3]}), {len(bad)} with another shape (e.g. {sorted(bad)[:3]})')


def load_reference(path: str):
    with torch.serialization.safe_globals([argparse.Namespace]):
        return torch.load(path, map_location='cpu', weights_only=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('src', help='reference SE-ResNet-AGLU checkpoint (.pth)')
    p.add_argument('dst', help='converted checkpoint for SEResNetAGLU init_cfg')
    p.add_argument('--depth', type=int, choices=(50, 101, 152),
                   help='ResNet depth (default: inferred from the layer3 blocks)')
    p.add_argument('--base-channels', type=int, default=64,
                   help='width of the first stage for the key check (64 = standard ResNet)')
    p.add_argument('--no-check', action='store_true',
                   help='skip the key check against an SEResNetAGLU of that depth')
    args = p.parse_args(argv)
    state = convert_state_dict(extract_state_dict(load_reference(args.src)))
    depth = args.depth or infer_depth(state)
    if not args.no_check:
        check_against_model(state, depth, args.base_channels)
    torch.save({'state_dict': state,
                'meta': dict(converted_from=osp.basename(args.src), depth=depth,
                             converter='tools/model_converters/se_resnet_aglu_to_hce.py')},
               args.dst)
    print(f'{len(state)} tensors -> {args.dst} (SEResNetAGLU depth {depth})')
    return 0


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    sys.exit(main())
