"""The comparison ladders of ``tools/analysis/compare.py``: which configs, on which split of the
built-in data, judged by which metric.

A variant is a config plus optional edits (``edit(cfg, ctx)``), e.g. an ablation switch or the
path of a checkpoint an earlier variant of the same seed produced (``after``). Rows marked
``ablation`` may run with fewer seeds; the headline rows need 3.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from hce_det.datasets.synthetic import CONTEXT_CLASSES


@dataclass
class Variant:
    name: str
    config: str
    edit: Optional[Callable] = None     # edit(cfg, ctx) -> None; ctx: dict(run_dir=..., ...)
    after: Optional[str] = None         # a variant whose run (same seed) must finish first
    ablation: bool = False


@dataclass
class Ladder:
    name: str
    variants: List[Variant]
    metric: str                          # headline key of the summarised metrics
    keys: Tuple[str, ...]                # columns of the table
    iters: int                           # default budget (see docs/RESULTS.md for the curve)
    splits: Dict[str, str] = field(default_factory=dict)  # annotation renames, e.g. context_val
    twin: bool = False                   # add TwinConfusionMetric to the evaluators
    lower_is_better: Tuple[str, ...] = ()
    freq_split: Optional[str] = None     # r/c/f groups of per-class AP from this split's json

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(f'ladder {self.name!r} has no variant {name!r}; '
                       f'choose from {[v.name for v in self.variants]}')


# ----------------------------------------------------------------------------------- HCE
_HCE = 'faster-rcnn_r18-thin_fpn_1k_synth-context.py'
HCE_VARIANTS = [
    Variant('vanilla', f'configs/demo/{_HCE}'),
    Variant('embloss', f'configs/hce/hce-embloss_{_HCE}'),
    Variant('early', f'configs/hce/hce-early_{_HCE}'),
    Variant('late', f'configs/hce/hce-late_{_HCE}'),
    Variant('both', f'configs/hce/hce-both_{_HCE}'),
    Variant('early-concat', f'configs/hce/hce-early-concat_{_HCE}', ablation=True),
    # HCE that starts as vanilla (zero gate + trained logit-sum late fusion) and its ablations
    Variant('gated', f'configs/hce/hce-gated_{_HCE}'),
    Variant('gated-early', f'configs/hce/hce-gated-early_{_HCE}', ablation=True),
    Variant('gated-detach', f'configs/hce/hce-gated-detach_{_HCE}', ablation=True),
    Variant('gated-flatten', f'configs/hce/hce-gated-flatten_{_HCE}', ablation=True),
    # a 3x3 conv before the class maps (context_embedding.num_convs=1): the image-level branch
    # of 'both' stays at chance after 300 iterations (image-level AP = class prevalence)
    Variant('both-conv', f'configs/hce/hce-both-conv_{_HCE}', ablation=True),
    Variant('gated-conv', f'configs/hce/hce-gated-conv_{_HCE}', ablation=True),
]
_HCE_KEYS = ('mAP', 'ctxAP', 'twin_confusion') + tuple(f'AP_{c}' for c in CONTEXT_CLASSES)

# ----------------------------------------------------------------------------------- CR-DA
_DA = 'configs/cr_da/synth/'


def _no_sw_context(cfg, ctx) -> None:
    """SW-Faster with plain RoI features (no context vectors anywhere)."""
    m = cfg.model
    m.pop('sw_context')
    m.roi_head.type = 'StandardRoIHead'
    m.roi_head.pop('context_channels')
    m.ins_da.in_channels = m.roi_head.bbox_head.fc_out_channels


def _joint_domains(cfg, ctx) -> None:
    """Both domains through the backbone as one padded batch (BatchNorm over both domains;
    the package's behaviour before issue 14 item 7); the default runs each domain apart."""
    cfg.model.domain_forward = 'joint'


def _separate_domains(cfg, ctx) -> None:
    """Each domain through the backbone on its own (the reference; the synth SW configs use
    'joint', see their header)."""
    cfg.model.domain_forward = 'separate'


CR_DA_VARIANTS = [
    Variant('source-only', _DA + 'faster-rcnn_r18-thin_fpn_500i_synth-fog-source-only.py'),
    Variant('DA-Faster', _DA + 'da-faster-rcnn_r18-thin_fpn_500i_synth-fog.py'),
    Variant('DA-Faster+ICR+CCR', _DA + 'da-faster-rcnn-icr-ccr_r18-thin_fpn_500i_synth-fog.py'),
    Variant('SW-Faster', _DA + 'sw-faster-rcnn_r18-thin_fpn_500i_synth-fog.py'),
    Variant('SW-Faster+ICR+CCR', _DA + 'sw-faster-rcnn-icr-ccr_r18-thin_fpn_500i_synth-fog.py'),
    Variant('oracle', _DA + 'faster-rcnn_r18-thin_fpn_500i_synth-fog-oracle.py'),
    Variant('two-domain-BN-control', _DA + 'da-none_r18-thin_fpn_500i_synth-fog.py',
            ablation=True),
    Variant('SW-Faster-no-context', _DA + 'sw-faster-rcnn_r18-thin_fpn_500i_synth-fog.py',
            edit=_no_sw_context, ablation=True),
    Variant('SW-Faster+ICR+CCR-no-context',
            _DA + 'sw-faster-rcnn-icr-ccr_r18-thin_fpn_500i_synth-fog.py', edit=_no_sw_context,
            ablation=True),
    # domain_forward: the other mode of each config ('separate' by default, 'joint' in SW)
    Variant('DA-Faster+ICR+CCR-joint',
            _DA + 'da-faster-rcnn-icr-ccr_r18-thin_fpn_500i_synth-fog.py', edit=_joint_domains,
            ablation=True),
    Variant('SW-Faster+ICR+CCR-separate',
            _DA + 'sw-faster-rcnn-icr-ccr_r18-thin_fpn_500i_synth-fog.py',
            edit=_separate_domains, ablation=True),
]

# ------------------------------------------------------------------------------- long tail
_LT = 'faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
LONG_TAIL_VARIANTS = [Variant(m, f'configs/lvis/{m}_{_LT}') for m in (
    'softmax-ce', 'sigmoid-bce', 'gumbel', 'gumbel-droploss', 'apa', 'apa-droploss', 'seesaw',
    'eqlv2', 'federated')] + [
    Variant('aglu-gumbel-droploss',
            'configs/lvis/gumbel-droploss_faster-rcnn_se-r18-thin-aglu_fpn_1k_synth-lt.py')]

# ----------------------------------------------------------------------------- recognition
_REC = 'configs/recognition/{}_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'


def _teacher_from_softmax(cfg, ctx) -> None:
    """DiVE distils from the softmax run of the same seed (trained first by the ladder)."""
    cfg.model.roi_head.bbox_head.teacher.checkpoint = ctx['checkpoint_of']['softmax']


def _bbn_background(cfg, ctx) -> None:
    cfg.model.roi_head.bbox_head.rebalance_background = True


RECOGNITION_VARIANTS = [Variant(m, _REC.format(m)) for m in (
    'softmax', 'bbn', 'ride', 'sc', 'psc', 'mdcs', 'sef')] + [
    Variant('dive', _REC.format('dive'), edit=_teacher_from_softmax, after='softmax'),
    Variant('bbn-bg', _REC.format('bbn'), edit=_bbn_background, ablation=True)]

_GROUP_KEYS = ('AP', 'APr', 'APc', 'APf')
LADDERS: Dict[str, Ladder] = {
    # the headroom split: the scene is named only by co-occurring classes far from each object
    'hce': Ladder('hce', HCE_VARIANTS, 'ctxAP', _HCE_KEYS, iters=300, twin=True,
                  splits={'context_train': 'context_cooc_train',
                          'context_val': 'context_cooc_val'},
                  lower_is_better=('twin_confusion',)),
    # the scene-visible split: the do-no-harm check
    'hce_scene': Ladder('hce_scene', HCE_VARIANTS, 'mAP', _HCE_KEYS, iters=300, twin=True,
                        lower_is_better=('twin_confusion',)),
    'cr_da': Ladder('cr_da', CR_DA_VARIANTS, 'mAP50', ('mAP50', 'mAP50_11pt', 'AP50'),
                    iters=500),
    'long_tail': Ladder('long_tail', LONG_TAIL_VARIANTS, 'APr', _GROUP_KEYS, iters=500,
                        freq_split='lt_train'),
    'recognition': Ladder('recognition', RECOGNITION_VARIANTS, 'APr', _GROUP_KEYS, iters=400,
                          freq_split='lt_train'),
}
