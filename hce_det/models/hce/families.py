"""HCE RoI heads for mmdet's two-stage families: ``HCE<Base>`` = ``(HCEMixin, <Base>)``, registered
in ``MODELS``, so that the base head's own behaviour (dynamic IoU / beta schedules, PISA
reweighting, Double-Head branches, Grid points, HTC interleaving and semantic features, mask
scoring) is kept. ``HCERoIHead`` is the ``StandardRoIHead`` one (Faster / Mask / Libra R-CNN).
Families that cannot fit are registered as builders that raise a clear error."""
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
}

# base class name -> why HCE does not fit it
REFUSED = {
    'SparseRoIHead': 'Sparse R-CNN / QueryInst learn proposal boxes and features by Hungarian '
                     'matching (no sampled RoIs, no softmax box classifier), so neither the '
                     'context classifier targets nor the fused score exist',
    'SCNetRoIHead': 'SCNet feeds its box heads a global context branch and feature relay through '
                    '_bbox_forward(glbctx_feat=...) and SCNetBBoxHead(return_shared_feat=...); '
                    'HCE does not implement that forward (not tested)',
    'TridentRoIHead': 'TridentNet runs a C4 shared_head over branch-replicated proposals; HCE '
                      'fuses x_context into the RoI feature of an FPN box head',
}


def hce_head_class(base: type, name: str) -> type:
    """``class <name>(HCEMixin, base)`` with the mixin's docstring."""
    doc = f'``{base.__name__}`` with Hierarchical Context Embedding on the box branch.\n\n' + \
        HCEMixin.__doc__
    return type(name, (HCEMixin, base), dict(__doc__=doc, __module__=__name__))


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
