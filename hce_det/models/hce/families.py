"""HCE RoI heads for mmdet's two-stage families: ``HCE<Base>`` = ``(HCEMixin, <Base>)``, registered
in ``MODELS``, so that the base head's own behaviour (dynamic IoU / beta schedules, PISA
reweighting, Double-Head branches, Grid points, HTC interleaving and semantic features, mask
scoring) is kept. ``HCERoIHead`` is the ``StandardRoIHead`` one (Faster / Mask / Libra R-CNN).
Families that cannot fit are registered as builders that raise a clear error."""
import inspect

from mmdet.models import roi_heads
from mmdet.registry import MODELS

from .hce_roi_head import HCEMixin

# base class name -> registered HCE name
SUPPORTED = {
    'StandardRoIHead': 'HCERoIHead',
    'CascadeRoIHead': 'HCECascadeRoIHead',
    'DynamicRoIHead': 'HCEDynamicRoIHead',
    'PISARoIHead': 'HCEPISARoIHead',
    'DoubleHeadRoIHead': 'HCEDoubleHeadRoIHead',
    'GridRoIHead': 'HCEGridRoIHead',
    'HybridTaskCascadeRoIHead': 'HCEHybridTaskCascadeRoIHead',
    'MaskScoringRoIHead': 'HCEMaskScoringRoIHead',
    'PointRendRoIHead': 'HCEPointRendRoIHead',
}

# base class name -> why HCE does not fit it
REFUSED = {
    'SparseRoIHead': 'Sparse R-CNN / QueryInst learn proposal boxes and features by Hungarian '
                     'matching (no sampled RoIs, no softmax box classifier), so neither the '
                     'context classifier targets nor the fused score exist',
    'SCNetRoIHead': 'SCNet feeds its box heads a global context branch and feature relay through '
                    '_bbox_forward(glbctx_feat=...) and SCNetBBoxHead(return_shared_feat=...); '
                    'HCE does not implement that forward (not tested)',
    'MultiInstanceRoIHead': 'CrowdDet predicts num_instance boxes per RoI (a dict of scores from '
                            'MultiInstanceBBoxHead) trained by EMD matching, so there is no single '
                            'RoI label for the context classifier nor one score to fuse',
    'TridentRoIHead': 'TridentNet runs a C4 shared_head over branch-replicated proposals; HCE '
                      'fuses x_context into the RoI feature of an FPN box head',
}


# train_cfg keys read only by one family -> its base (else they would be silently ignored)
TRAIN_KEYS = {'dynamic_rcnn': 'DynamicRoIHead', 'isr': 'PISARoIHead', 'carl': 'PISARoIHead'}


def _init_args(cls: type) -> set:
    """Named ``__init__`` arguments over ``cls``'s MRO."""
    names = set()
    for c in cls.__mro__:
        if '__init__' in vars(c):
            names |= {n for n, p in inspect.signature(c.__init__).parameters.items()
                      if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    return names - {'self'}


def _family_hint(name: str, base: type, kwargs: dict) -> None:
    """A clear error when the config belongs to another family than ``name``'s base (e.g.
    ``HCERoIHead`` on a Dynamic R-CNN config, whose schedule would silently disappear)."""
    if 'base' in kwargs:
        want = kwargs['base']
        fix = (f"roi_head.type='{SUPPORTED[want]}'" if want in SUPPORTED else
               f'a plain {want} (HCE does not support it)' if want in REFUSED else
               f'one of {sorted(SUPPORTED.values())}')
        raise ValueError(f'roi_head.base={want!r}: the base head is chosen by the type; use {fix}')
    hce = _init_args(HCEMixin)
    for key in kwargs:
        if key in hce or key in _init_args(base):
            continue
        owners = [b for b in SUPPORTED if key in _init_args(getattr(roi_heads, b))]
        fix = (f"use roi_head.type='{SUPPORTED[owners[0]]}' ({owners[0]} reads it)" if owners
               else 'remove it')
        raise ValueError(f'roi_head.{key} is not an argument of {name} ({base.__name__}): {fix}')
    train = kwargs.get('train_cfg') or {}
    for cfg in (train if isinstance(train, (list, tuple)) else [train]):
        for key, owner in TRAIN_KEYS.items():
            if key in (cfg or {}) and not issubclass(base, getattr(roi_heads, owner)):
                raise ValueError(f'train_cfg.rcnn.{key} is read by {owner} only and {name} '
                                 f"({base.__name__}) would ignore it: use roi_head.type="
                                 f"'{SUPPORTED[owner]}'")


def hce_head_class(base: type, name: str) -> type:
    """``class <name>(HCEMixin, base)`` with the mixin's docstring; checks its config keys
    against the base first (:func:`_family_hint`)."""
    doc = f'``{base.__name__}`` with Hierarchical Context Embedding on the box branch.\n\n' + \
        HCEMixin.__doc__

    def __init__(self, **kwargs):
        _family_hint(name, base, kwargs)
        HCEMixin.__init__(self, **kwargs)

    return type(name, (HCEMixin, base), dict(__doc__=doc, __module__=__name__,
                                              __init__=__init__))


def _refusal(base: str, reason: str):

    def build(*args, **kwargs):
        raise ValueError(f'roi_head.type=HCE{base}: HCE does not support {base} ({reason}). '
                         f'Use the plain {base}, or one of {sorted(SUPPORTED.values())}.')

    return build


HCE_HEADS = {}
for _base, _name in SUPPORTED.items():
    HCE_HEADS[_name] = MODELS.register_module(
        name=_name, module=hce_head_class(getattr(roi_heads, _base), _name))
    globals()[_name] = HCE_HEADS[_name]  # importable (and picklable) by name
for _base, _reason in REFUSED.items():
    MODELS.register_module(name=f'HCE{_base}', module=_refusal(_base, _reason))
HCERoIHead = HCE_HEADS['HCERoIHead']
HCECascadeRoIHead = HCE_HEADS['HCECascadeRoIHead']
