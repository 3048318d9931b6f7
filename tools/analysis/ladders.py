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
    # gated-conv without early fusion (localisation untouched; see the config's comment)
    Variant('late-conv', f'configs/hce/hce-late-conv_{_HCE}', ablation=True),
    # late-conv whose HCE losses do not reach the backbone and neck (see the config's comment)
    Variant('late-conv-detach', f'configs/hce/hce-late-conv-detach_{_HCE}', ablation=True),
    # late-conv with a tenth of the HCE losses' gradient into the backbone and neck
    Variant('late-conv-gs0.1', f'configs/hce/hce-late-conv-gs0p1_{_HCE}', ablation=True),
    # between 0.1 (no harm, unreliable gain) and 1.0 (reliable gain, scene loss)
    Variant('late-conv-gs0.3', f'configs/hce/hce-late-conv-gs0p3_{_HCE}', ablation=True),
    # gs0.3 with the embedding on P5 (companions in one cell's view; see the config's comment)
    Variant('late-conv-gs0.3-p5', f'configs/hce/hce-late-conv-gs0p3-p5_{_HCE}', ablation=True),
    # gs0.3 with x_global = the image's global max of the embedded map (see the config)
    Variant('late-conv-gs0.3-gmax', f'configs/hce/hce-late-conv-gs0p3-gmax_{_HCE}',
            ablation=True),
    # gmax reading P3 + P2 (P2: where the RoI head trains on these objects; see the config)
    Variant('late-conv-gs0.3-gmax-p23', f'configs/hce/hce-late-conv-gs0p3-gmax-p23_{_HCE}',
            ablation=True),
    # p23 with the image-level branch at 3x / 10x the base LR (see the configs)
    Variant('late-conv-gs0.3-gmax-p23-lr3',
            f'configs/hce/hce-late-conv-gs0p3-gmax-p23-lr3_{_HCE}', ablation=True),
    Variant('late-conv-gs0.3-gmax-p23-lr10',
            f'configs/hce/hce-late-conv-gs0p3-gmax-p23-lr10_{_HCE}', ablation=True),
    # the demo's cheaper training step (64 sampled RoIs, RPN training proposals 500 / 300;
    # see the configs): vanilla and the chosen settings
    Variant('vanilla-roi64', f'configs/demo/roi64_{_HCE}'),
    Variant('late-conv-gs0.3-gmax-p23-roi64',
            f'configs/hce/hce-late-conv-gs0p3-gmax-p23-roi64_{_HCE}'),
    # the same with up to half of the 64 RoIs positive (the box regressor's positives of the
    # 128-RoI step; see the configs)
    Variant('vanilla-roi64-pos0.5', f'configs/demo/roi64-pos0p5_{_HCE}'),
    Variant('late-conv-gs0.3-gmax-p23-roi64-pos0.5',
            f'configs/hce/hce-late-conv-gs0p3-gmax-p23-roi64-pos0p5_{_HCE}'),
    Variant('both-conv-w4', f'configs/hce/hce-both-conv-w4_{_HCE}', ablation=True),
    Variant('both-conv-w4-gavg', f'configs/hce/hce-both-conv-w4-gavg_{_HCE}', ablation=True),
]
_HCE_KEYS = ('mAP', 'ctxAP', 'twin_confusion') + tuple(f'AP_{c}' for c in CONTEXT_CLASSES)

# ----------------------------------------------------------------------------------- CR-DA
_DA = 'configs/cr_da/synth/{}_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py'


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
    Variant('source-only', _DA.format('source-only')),
    Variant('DA-Faster', _DA.format('da-faster')),
    Variant('DA-Faster+ICR+CCR', _DA.format('da-faster-icr-ccr')),
    Variant('SW-Faster', _DA.format('sw-faster')),
    Variant('SW-Faster+ICR+CCR', _DA.format('sw-faster-icr-ccr')),
    Variant('oracle', _DA.format('oracle')),
    Variant('two-domain-BN-control', _DA.format('da-none'), ablation=True),
    Variant('SW-Faster-no-context', _DA.format('sw-faster'), edit=_no_sw_context, ablation=True),
    Variant('SW-Faster+ICR+CCR-no-context', _DA.format('sw-faster-icr-ccr'),
            edit=_no_sw_context, ablation=True),
    # domain_forward: the other mode of each config ('separate' by default, 'joint' in SW)
    Variant('DA-Faster+ICR+CCR-joint', _DA.format('da-faster-icr-ccr'), edit=_joint_domains,
            ablation=True),
    Variant('SW-Faster+ICR+CCR-separate', _DA.format('sw-faster-icr-ccr'),
            edit=_separate_domains, ablation=True),
    # HCE RoI head; ICR shares HCE's categorical embedding (configs/cr_da/README.md)
    Variant('HCE+DA-Faster+ICR+CCR', _DA.format('hce-da-faster-icr-ccr'), ablation=True),
]

# ------------------------------------------------------------------------------- long tail
_LT = 'faster-rcnn_r18-thin_fpn_1k_synth-lt.py'


# [issue 13, item 2] one box regressor for every class (mmdet's per-class deltas train the rare
# class's regressor on its few RoIs): does APr on this split lose at the strict IoUs?
def _class_agnostic_regression(cfg, ctx) -> None:
    cfg.model.roi_head.bbox_head.reg_class_agnostic = True


# [issue 13, item 2] GOL's loss-side logit clamp [-4, 10] instead of the AGLU release's +-10: a
# positive's Gumbel loss exp(-z) sends up to e^10 = 22026 into its logit at -10, e^4 = 55 at -4.
def _gol_logit_clamp(cfg, ctx) -> None:
    cfg.model.roi_head.bbox_head.loss_cls.logit_clamp = (-4.0, 10.0)


# [issue 13, item 2] the ladder's LR (0.04 for 8 images: 4x the APA reference's 0.02 for 16,
# linearly scaled to 0.01) with a Gumbel head: does the collapse (Gumbel + DropLoss seeds 1, 2,
# plain Gumbel seed 0, each right after the warm-up reaches the full LR) go with it?
REFERENCE_LR = 0.01
# [issue 13, item 2] half the ladder's LR: do the Gumbel heads, which collapse at 0.04 and trail
# the 0.04 rows at 0.01 (every row loses AP there), train without collapse and keep their lead?
HALF_LR = 0.02


# [issue 13, item 2] between the two: Gumbel trains at 0.02 (no collapse, its best AP/APr so
# far) and collapses at 0.04 on 2 of 3 seeds; does 0.03 keep training and close the APr gap to
# sigmoid BCE at 0.04?
THREE_QUARTER_LR = 0.03
# [issue 13, item 2] a Gumbel-specific warm-up at the ladder's LR: every collapse started right
# after the 100-iteration linear warm-up reached 0.04; the same ramp over a third of the run
# (APA + DropLoss, sigmoid BCE and softmax CE too: the rows the Gumbel heads are compared with,
# on the same schedule)
GUMBEL_WARMUP_ITERS = 500


def _with_lr(lr: float) -> Callable:
    """An edit setting the optimizer's LR to ``lr`` (model and schedule unchanged)."""
    def edit(cfg, ctx) -> None:
        cfg.optim_wrapper.optimizer.lr = lr
    return edit


def _with_warmup(iters: int) -> Callable:
    """An edit making the linear warm-up (``LinearLR``) ``iters`` long; LR, its start factor
    and the step schedule unchanged."""
    def edit(cfg, ctx) -> None:
        warm = [s for s in cfg.param_scheduler if s['type'] == 'LinearLR']
        if len(warm) != 1:
            raise ValueError(f'expected one LinearLR warm-up, found {len(warm)}')
        if iters >= cfg.train_cfg.max_iters:
            raise ValueError(f'warm-up of {iters} iterations >= the run '
                             f'({cfg.train_cfg.max_iters}); give a longer --iters')
        warm[0]['end'] = iters
    return edit


_LT_HEADLINE = [Variant(m, f'configs/lvis/{m}_{_LT}') for m in (
    'softmax-ce', 'sigmoid-bce', 'gumbel', 'gumbel-droploss', 'apa', 'apa-droploss', 'seesaw',
    'eqlv2', 'federated')] + [
    Variant('aglu-gumbel-droploss',
            'configs/lvis/gumbel-droploss_faster-rcnn_se-r18-thin-aglu_fpn_1k_synth-lt.py')]
LONG_TAIL_VARIANTS = _LT_HEADLINE + [
    # apa-droploss with an HCE RoI head (late-conv-gs0.1 settings, trained logit-sum fusion)
    Variant('hce-apa-droploss', f'configs/hce/hce-apa-droploss_{_LT}', ablation=True),
    Variant('softmax-ce-agnostic-reg', f'configs/lvis/softmax-ce_{_LT}',
            edit=_class_agnostic_regression, ablation=True),
    Variant('gumbel-droploss-clamp4', f'configs/lvis/gumbel-droploss_{_LT}',
            edit=_gol_logit_clamp, ablation=True)] + [
    # the Gumbel heads at the reference LR, and at the same LR the rows they are compared with:
    # softmax (the +5 APr target), sigmoid BCE (sigmoid family >= BCE - 1), APA + DropLoss (the
    # paper's APA + DropLoss >= Gumbel + DropLoss)
    Variant(f'{v.name}-lr0.01', v.config, edit=_with_lr(REFERENCE_LR), ablation=True)
    for v in _LT_HEADLINE if v.name in ('gumbel-droploss', 'gumbel', 'softmax-ce', 'sigmoid-bce',
                                        'apa-droploss', 'aglu-gumbel-droploss')] + [
    Variant(f'{v.name}-lr0.02', v.config, edit=_with_lr(HALF_LR), ablation=True)
    for v in _LT_HEADLINE if v.name in ('gumbel', 'gumbel-droploss')] + [
    Variant('gumbel-lr0.03', f'configs/lvis/gumbel_{_LT}', edit=_with_lr(THREE_QUARTER_LR),
            ablation=True)] + [
    Variant(f'{v.name}-warmup{GUMBEL_WARMUP_ITERS}', v.config,
            edit=_with_warmup(GUMBEL_WARMUP_ITERS), ablation=True)
    for v in _LT_HEADLINE if v.name in ('gumbel', 'gumbel-droploss', 'aglu-gumbel-droploss',
                                        'apa-droploss', 'sigmoid-bce', 'softmax-ce')]

# ----------------------------------------------------------------------------- recognition
_REC = 'configs/recognition/{}_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'


def _teacher_from_softmax(cfg, ctx) -> None:
    """DiVE distils from the softmax run of the same seed (trained first by the ladder): the
    whole softmax detector is the frozen teacher (``TeacherTwoStageDetector``)."""
    cfg.model.teacher.checkpoint = ctx['checkpoint_of']['softmax']


# DiVE with the teacher's own distribution as the target (tau = 1, power = 1: plain KD next to
# the balanced-softmax CE). Tests the measured cause of DiVE's APr loss (docs/results/
# recognition_1500.notes.md): the paper's softmax(t / 3) ** 0.5 target flattens the teacher's
# ring-vs-other-rare-class contrast on gt boxes from 14-460x to 1.2-1.8x.
def _dive_sharp_target(cfg, ctx) -> None:
    _teacher_from_softmax(cfg, ctx)
    cfg.model.roi_head.bbox_head.update(tau=1.0, power=1.0)


# SC/PSC with alpha = 1 - (t/T)^2 run over the full-LR part of the schedule (T = the first LR
# step) instead of the whole run. Tests the measured cause of their APr loss (docs/results/
# recognition_1500.notes.md): their features separate the rare classes (nearest class mean) but
# the classifier gets 21 % of softmax's LR-weighted CE; over the full-LR part it gets 35 %.
def _alpha_over_full_lr(cfg, ctx) -> None:
    steps = [s for s in cfg.param_scheduler if s.get('milestones')]
    if not steps:
        raise ValueError('alpha over the full-LR part needs a MultiStepLR in param_scheduler')
    hooks = [h for h in cfg.custom_hooks if h['type'] == 'CumulativeAlphaHook']
    hooks[0]['total'] = int(min(steps[0]['milestones']))


# SEF with a tenth of the release's maximum-entropy weight (at weight 1 the term holds the
# global prediction near uniform: entropy 1.92 of ln 11 = 2.40 nats at the end of training), and
# without it (what the grouping and transfer terms alone cost against softmax CE)
def _sef_entropy(weight: float) -> Callable:
    """An edit setting SEF's maximum-entropy weight to ``weight`` (the other terms kept)."""
    def edit(cfg, ctx) -> None:
        cfg.model.roi_head.bbox_head.entropy_weight = weight
    return edit


def _bbn_background(cfg, ctx) -> None:
    cfg.model.roi_head.bbox_head.rebalance_background = True


# [issue 13, item 3] BBN without its image-level reversed sampler: the batch holds the usual
# uniform images only and partners are drawn, class-reversed, from the batch's own RoIs.
def _bbn_rois_only(cfg, ctx) -> None:
    cfg.model.roi_head.bbox_head.num_reversed_images = 0
    cfg.train_dataloader.batch_sampler = dict(type='AspectRatioBatchSampler')


# [issue 13, item 3] RIDE's second stage, the expert router (RIDE README "Expert Assignment
# Module Training (Stage 2)", configs/*_ride_ea.json): the stage-1 model of the same seed loaded,
# every parameter but the router frozen (frozen BatchNorm in eval mode), class-balanced sampling,
# lr 0.1x of stage 1 with cosine decay to 0, pos_weight 100; its length RIDE_ROUTER_FRACTION of
# the stage-1 budget (RIDE: 5 epochs after 100 on ImageNet-LT, after 200 on CIFAR), at least
# RIDE_ROUTER_MIN_ITERS. The run's record keeps the ladder's --iters (stage-1 budget).
RIDE_ROUTER_FRACTION = 0.05
RIDE_ROUTER_MIN_ITERS = 20


def _ride_router_stage(cfg, ctx) -> None:
    cfg.load_from, cfg.resume = ctx['checkpoint_of']['ride'], False
    cfg.model.roi_head.bbox_head.router = dict(top_k=5, hidden=16, pos_weight=100.0,
                                               threshold=0.5, share_fc=True)
    n = max(RIDE_ROUTER_MIN_ITERS, int(round(RIDE_ROUTER_FRACTION * cfg.train_cfg.max_iters)))
    cfg.train_cfg.max_iters = n
    cfg.train_cfg.val_interval = min(cfg.train_cfg.get('val_interval', n + 1), n + 1)
    cfg.default_hooks.checkpoint.interval = n
    cfg.optim_wrapper.optimizer.lr = 0.1 * cfg.optim_wrapper.optimizer.lr
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=n,
                                T_max=n, eta_min=0.0)]
    cfg.train_dataloader.sampler = dict(type='ClassAwareSampler', num_sample_class=1)
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='FreezeExceptHook', trainable=['roi_head.bbox_head.router_'])]


# [issue 13, item 3] RIDE's deficit at equal LR is at strict IoUs (AP50 above softmax's, AP -7.9)
# with ~40 % higher loss_bbox and 2-14x the grad norm: its classification loss (K = 3 scale-30
# LDAM-CEs) may crowd the box regressor out of the shared fcs. The hypothesis, tested two ways
# back to one head's share (both at ride-lr0.01's LR; both lift AP +6-8 on 3/3 seeds, only the
# mean lifts APr past softmax's: docs/results/recognition_1500.notes.md):
def _ride_expert_mean(cfg, ctx) -> None:
    """the experts' losses averaged (``expert_reduction='mean'``) instead of summed"""
    cfg.optim_wrapper.optimizer.lr = REFERENCE_LR
    cfg.model.roi_head.bbox_head.expert_reduction = 'mean'


def _ride_box_weight(cfg, ctx) -> None:
    """the box regression loss weighted by K (the number of experts)"""
    cfg.optim_wrapper.optimizer.lr = REFERENCE_LR
    head = cfg.model.roi_head.bbox_head
    head.loss_bbox.loss_weight = head.loss_bbox.get('loss_weight', 1.0) * head.num_experts


RECOGNITION_VARIANTS = [Variant(m, _REC.format(m)) for m in (
    'softmax', 'bbn', 'ride', 'sc', 'psc', 'mdcs', 'sef')] + [
    Variant('dive', _REC.format('dive'), edit=_teacher_from_softmax, after='softmax'),
    Variant('dive-sharp', _REC.format('dive'), edit=_dive_sharp_target, after='softmax',
            ablation=True),
    # [issue 13, item 3] RIDE stage 2 (router), trained on the `ride` run of the same seed
    Variant('ride-ea', _REC.format('ride'), edit=_ride_router_stage, after='ride'),
    # RIDE at the reference-scaled LR: its stage 1 collapses at the ladder's 0.04 (AP ~1 on
    # seeds 0, 1; the shared trunk's ReLUs die), as the Gumbel heads did (REFERENCE_LR above)
    Variant('ride-lr0.01', _REC.format('ride'), edit=_with_lr(REFERENCE_LR), ablation=True),
    Variant('ride-mean-lr0.01', _REC.format('ride'), edit=_ride_expert_mean, ablation=True),
    Variant('ride-box3-lr0.01', _REC.format('ride'), edit=_ride_box_weight, ablation=True),
    Variant('bbn-bg', _REC.format('bbn'), edit=_bbn_background, ablation=True),
    Variant('psc-fulllr', _REC.format('psc'), edit=_alpha_over_full_lr, ablation=True),
    Variant('sc-fulllr', _REC.format('sc'), edit=_alpha_over_full_lr, ablation=True),
    Variant('sef-ent0.1', _REC.format('sef'), edit=_sef_entropy(0.1), ablation=True),
    Variant('sef-ent0', _REC.format('sef'), edit=_sef_entropy(0.0), ablation=True),
    # [issue 13, item 3] BBN with RoI-level reversed partners only (no reversed images)
    Variant('bbn-rois', _REC.format('bbn'), edit=_bbn_rois_only, ablation=True)]

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
