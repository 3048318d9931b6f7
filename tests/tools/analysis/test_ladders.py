"""Ladder rows of issue 13 (tools/analysis/ladders.py), configured as compare.py configures them
(no training): each recognition method gets the schedule it needs and --iters rescales it."""
import copy
import math
import os.path as osp
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import compare  # noqa: E402
from ladders import LADDERS, RIDE_ROUTER_FRACTION, RIDE_ROUTER_MIN_ITERS  # noqa: E402

REC = LADDERS['recognition']


def _configure(name, iters, tmp_path, ctx=None, ladder='recognition'):
    """A row of ``ladder`` configured as compare.py configures it."""
    lad = LADDERS[ladder]
    v = lad.variant(name)
    return compare.configure(compare.load_config(v), lad, v, 0, iters, str(tmp_path) + '/',
                             str(tmp_path / name), None, ctx or {})


def _configure_lt(name, tmp_path):
    """A ``long_tail`` row configured as compare.py configures it (40 iterations)."""
    return _configure(name, 40, tmp_path, ladder='long_tail')


def _hooks(cfg):
    return [h['type'] for h in cfg.custom_hooks]


@pytest.mark.parametrize('name', ['bbn', 'sc', 'psc', 'mdcs', 'ride'])
def test_progress_schedules_follow_iters(name, tmp_path):
    """The alpha / warm-up / re-weighting schedules read runner.iter / runner.max_iters, and
    --iters sets train_cfg.max_iters: the hook is there and the length is the ladder's."""
    cfg = _configure(name, 40, tmp_path)
    assert cfg.train_cfg.max_iters == 40
    hook = [h for h in cfg.custom_hooks if h['type'] == 'CumulativeAlphaHook']
    assert len(hook) == 1 and not hook[0].get('by_epoch') and not hook[0].get('total')


def test_bbn_rows(tmp_path):
    cfg = _configure('bbn', 40, tmp_path)
    assert cfg.train_dataloader.batch_sampler.type == 'ReversedClassBatchSampler'
    assert cfg.model.roi_head.bbox_head.num_reversed_images == 'half'
    rois = _configure('bbn-rois', 40, tmp_path)
    assert rois.train_dataloader.batch_sampler.type == 'AspectRatioBatchSampler'
    assert rois.model.roi_head.bbox_head.num_reversed_images == 0
    assert _configure('bbn-bg', 40, tmp_path).model.roi_head.bbox_head.rebalance_background


@pytest.mark.parametrize('name', ['sc', 'psc'])
def test_contrastive_alpha_over_the_full_lr_part(name, tmp_path):
    cfg = _configure(f'{name}-fulllr', 400, tmp_path)
    step = [s for s in cfg.param_scheduler if s.get('milestones')][0]
    hook = [h for h in cfg.custom_hooks if h['type'] == 'CumulativeAlphaHook'][0]
    assert 0 < hook['total'] == min(step['milestones']) < cfg.train_cfg.max_iters
    plain = _configure(name, 400, tmp_path)
    assert not [h for h in plain.custom_hooks if h['type'] == 'CumulativeAlphaHook'][0].get(
        'total')


@pytest.mark.parametrize('name,weight', [('sef-ent0.1', 0.1), ('sef-ent0', 0.0)])
def test_sef_entropy_rows_change_only_the_entropy_weight(name, weight, tmp_path):
    base, row = (_configure(n, 40, tmp_path) for n in ('sef', name))
    assert base.model.roi_head.bbox_head.get('entropy_weight', 1.0) == 1.0
    assert row.model.roi_head.bbox_head.entropy_weight == weight
    row.model.roi_head.bbox_head.entropy_weight = base.model.roi_head.bbox_head.get(
        'entropy_weight', 1.0)
    assert row.model == base.model and row.optim_wrapper == base.optim_wrapper


def test_dive_teacher_is_the_softmax_run(tmp_path):
    assert REC.variant('dive').after == 'softmax'
    cfg = _configure('dive', 40, tmp_path, dict(checkpoint_of={'softmax': '/x/softmax.pth'}))
    assert cfg.model.type == 'TeacherTwoStageDetector'
    assert cfg.model.teacher.checkpoint == '/x/softmax.pth'
    head = cfg.model.roi_head.bbox_head
    assert (head.get('tau', 3.0), head.get('power', 0.5)) == (3.0, 0.5)  # the paper's target
    sharp = _configure('dive-sharp', 40, tmp_path,
                       dict(checkpoint_of={'softmax': '/x/softmax.pth'}))
    assert REC.variant('dive-sharp').ablation and REC.variant('dive-sharp').after == 'softmax'
    assert sharp.model.teacher.checkpoint == '/x/softmax.pth'
    assert (sharp.model.roi_head.bbox_head.tau, sharp.model.roi_head.bbox_head.power) == (1, 1)


def test_ride_router_stage(tmp_path):
    names = [v.name for v in REC.variants]
    assert names.index('ride-ea') > names.index('ride') and REC.variant('ride-ea').after == 'ride'
    base = _configure('ride', 400, tmp_path)
    cfg = _configure('ride-ea', 400, tmp_path, dict(checkpoint_of={'ride': '/x/ride.pth'}))
    n = max(RIDE_ROUTER_MIN_ITERS, round(RIDE_ROUTER_FRACTION * 400))
    assert cfg.load_from == '/x/ride.pth' and not cfg.resume
    assert cfg.train_cfg.max_iters == n and cfg.default_hooks.checkpoint.interval == n
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(0.1 * base.optim_wrapper.optimizer.lr)
    assert cfg.param_scheduler[0]['type'] == 'CosineAnnealingLR'
    assert cfg.param_scheduler[0]['end'] == n
    assert cfg.train_dataloader.sampler.type == 'ClassAwareSampler'
    assert cfg.model.roi_head.bbox_head.router['pos_weight'] == 100.0
    freeze = [h for h in cfg.custom_hooks if h['type'] == 'FreezeExceptHook']
    assert freeze and freeze[0]['trainable'] == ['roi_head.bbox_head.router_']
    # the trainable prefix names exactly the router of the built head
    from hce_det.models.recognition import RIDEBBoxHead
    head = RIDEBBoxHead(in_channels=4, fc_out_channels=8, roi_feat_size=2, num_classes=10,
                        class_counts=list(range(1, 11)),
                        router=cfg.model.roi_head.bbox_head.router)
    names = [k for k, _ in head.named_parameters() if k.startswith('router_')]
    assert names and all(k.startswith(('router_hidden', 'router_fc')) for k in names)


def test_recognition_rows_evaluate_with_lvis_test_settings(tmp_path):
    for v in REC.variants:
        cfg = _configure(v.name, 40, tmp_path, dict(checkpoint_of={'softmax': 'a', 'ride': 'b'}))
        assert cfg.model.test_cfg.rcnn.score_thr == pytest.approx(1e-4), v.name
        assert cfg.model.test_cfg.rcnn.max_per_img == 300, v.name
        evs = cfg.val_evaluator if isinstance(cfg.val_evaluator, list) else [cfg.val_evaluator]
        assert evs[0]['type'] == 'FasterLVISMetric', v.name


@pytest.mark.parametrize('ladder,name,roi_head', [
    ('long_tail', 'hce-apa-droploss', 'HCERoIHead'),
    ('cr_da', 'HCE+DA-Faster+ICR+CCR', 'HCERoIHead'),
])
def test_issue16_hce_rows_are_ablations_and_configure(ladder, name, roi_head, tmp_path):
    lad = LADDERS[ladder]
    v = lad.variant(name)
    assert v.ablation and osp.isfile(osp.join(ROOT, v.config))
    cfg = compare.configure(compare.load_config(v), lad, v, 0, 40, str(tmp_path) + '/',
                            str(tmp_path / 'run'), None, {})
    assert cfg.model.roi_head.type == roi_head
    assert cfg.model.roi_head.late_fusion.fusion == 'logit_sum'


def test_class_agnostic_regression_row_changes_only_the_regressor(tmp_path):
    """``softmax-ce-agnostic-reg``: the softmax-ce config with one box regressor for every class
    (4 outputs instead of 4 per class); everything else is the softmax-ce row's."""
    from mmdet.registry import MODELS
    base, agn = (_configure_lt(n, tmp_path) for n in ('softmax-ce', 'softmax-ce-agnostic-reg'))
    assert agn.model.roi_head.bbox_head.reg_class_agnostic
    assert not base.model.roi_head.bbox_head.get('reg_class_agnostic', False)
    import hce_det  # noqa: F401
    head = MODELS.build(copy.deepcopy(agn.model.roi_head.bbox_head))
    assert head.fc_reg.out_features == 4 and head.fc_cls.out_features == 11
    agn.model.roi_head.bbox_head.reg_class_agnostic = False
    assert agn.model == base.model


_LR_ROWS = [('long_tail', h, 'lr0.01', 0.01) for h in (
    'gumbel', 'gumbel-droploss', 'softmax-ce', 'sigmoid-bce', 'apa-droploss',
    'aglu-gumbel-droploss')] + [('recognition', 'ride', 'lr0.01', 0.01)] + [
    ('long_tail', h, 'lr0.02', 0.02) for h in ('gumbel', 'gumbel-droploss')] + [
    ('long_tail', 'gumbel', 'lr0.03', 0.03)]


@pytest.mark.parametrize('ladder,head,suffix,lr', _LR_ROWS)
def test_lr_row_changes_only_the_learning_rate(ladder, head, suffix, lr, tmp_path):
    """``<head>-lr0.01`` (the reference's LR, a quarter of the ladder's 0.04) and
    ``<head>-lr0.02`` (half of it): the same model and schedule, only the optimizer's LR."""
    base, row = (_configure(n, 40, tmp_path, ladder=ladder) for n in (head, f'{head}-{suffix}'))
    assert base.optim_wrapper.optimizer.lr == 0.04
    assert row.optim_wrapper.optimizer.lr == lr
    assert row.model == base.model and row.param_scheduler == base.param_scheduler
    row.optim_wrapper.optimizer.lr = 0.04
    assert row.optim_wrapper == base.optim_wrapper


@pytest.mark.parametrize('head', ['gumbel', 'gumbel-droploss', 'aglu-gumbel-droploss',
                                  'apa-droploss', 'sigmoid-bce', 'softmax-ce'])
def test_warmup_row_changes_only_the_warmup_length(head, tmp_path):
    """``<head>-warmup500``: the head's row with its linear warm-up 500 iterations long (set
    after ``scale_schedule``, which caps a warm-up at a fifth of the run); LR, start factor and
    the step milestones are the head row's."""
    base, row = (_configure(n, 1500, tmp_path, ladder='long_tail')
                 for n in (head, f'{head}-warmup500'))
    warm = [s for s in row.param_scheduler if s['type'] == 'LinearLR']
    assert [s['end'] for s in warm] == [500]
    assert [s['end'] for s in base.param_scheduler if s['type'] == 'LinearLR'] == [100]
    warm[0]['end'] = 100
    assert row.param_scheduler == base.param_scheduler
    assert row.model == base.model and row.optim_wrapper == base.optim_wrapper
    with pytest.raises(ValueError, match='longer --iters'):
        _configure(f'{head}-warmup500', 400, tmp_path, ladder='long_tail')


@pytest.mark.parametrize('name,reduction,box_weight', [
    ('ride-mean-lr0.01', 'mean', 1.0), ('ride-box3-lr0.01', 'sum', 3.0)])
def test_ride_share_rows_change_one_thing_from_ride_lr001(name, reduction, box_weight, tmp_path):
    """The two RIDE rows that give the box regressor back its share of the trunk: each is
    ``ride-lr0.01`` with the experts' losses averaged, or the box loss weighted by K = 3."""
    base, row = (_configure(n, 40, tmp_path) for n in ('ride-lr0.01', name))
    head = row.model.roi_head.bbox_head
    assert row.optim_wrapper.optimizer.lr == 0.01
    assert head.get('expert_reduction', 'sum') == reduction
    assert head.loss_bbox.loss_weight == box_weight
    head.pop('expert_reduction', None)
    head.loss_bbox.loss_weight = 1.0
    assert row.model == base.model and row.optim_wrapper == base.optim_wrapper


def test_gol_clamp_row_changes_only_the_loss_side_logit_clamp(tmp_path):
    """``gumbel-droploss-clamp4``: DropLoss with GOL's [-4, 10] loss-side clamp; the built loss
    clamps a positive's logit at -4, so its gradient is at most e^4 (not e^10)."""
    import torch
    base, gol = (_configure_lt(n, tmp_path) for n in ('gumbel-droploss', 'gumbel-droploss-clamp4'))
    assert tuple(gol.model.roi_head.bbox_head.loss_cls.logit_clamp) == (-4.0, 10.0)
    gol.model.roi_head.bbox_head.loss_cls.pop('logit_clamp')
    assert gol.model == base.model
    import hce_det  # noqa: F401
    from hce_det.models.long_tail.losses import DropLoss
    loss = DropLoss(num_classes=2, class_image_counts=[5, 5], num_train_images=10,
                    logit_clamp=(-4.0, 10.0), freq_thr=0.0)
    z = torch.tensor([[-8.0, -8.0]], requires_grad=True)  # a class-0 positive far below -4
    loss(z, torch.tensor([0]), torch.ones(1), avg_factor=1.0).backward()
    assert float(z.grad.abs().max()) == 0.0               # clamped: no gradient past -4
    z2 = torch.tensor([[-3.0, -8.0]], requires_grad=True)
    loss(z2, torch.tensor([0]), torch.ones(1), avg_factor=1.0).backward()
    assert float(z2.grad[0, 0]) == pytest.approx(-math.exp(3.0), rel=1e-3)


@pytest.mark.parametrize('ladder', ['hce', 'hce_scene'])
@pytest.mark.parametrize('head', ['vanilla', 'late-conv-gs0.3-gmax-p23'])
def test_roi64_rows_change_only_the_training_step(ladder, head, tmp_path):
    """``<head>-roi64`` (the demo's cheaper step): 64 sampled RoIs per image and the RPN's
    training proposals 500 per level / 300 kept, nothing else (test settings, schedule, data and
    the rest of the model are the row's)."""
    base, row = (_configure(n, 40, tmp_path, ladder=ladder) for n in (head, f'{head}-roi64'))
    assert base.model.train_cfg.rcnn.sampler.num == 128
    assert row.model.train_cfg.rcnn.sampler.num == 64
    b, r = base.model.train_cfg.rpn_proposal, row.model.train_cfg.rpn_proposal
    assert (b.nms_pre, b.max_per_img, r.nms_pre, r.max_per_img) == (1000, 500, 500, 300)
    assert row.model.test_cfg == base.model.test_cfg
    row.model.train_cfg = base.model.train_cfg
    row.work_dir = base.work_dir
    assert row.model == base.model
    for key in ('train_dataloader', 'val_dataloader', 'param_scheduler', 'optim_wrapper',
                'train_cfg', 'randomness'):
        assert row.get(key) == base.get(key), key


@pytest.mark.parametrize('ladder', ['hce', 'hce_scene'])
@pytest.mark.parametrize('head', ['vanilla', 'late-conv-gs0.3-gmax-p23'])
def test_roi64_pos05_rows_change_only_the_positive_fraction(ladder, head, tmp_path):
    """``<head>-roi64-pos0.5``: the ``-roi64`` row with ``pos_fraction`` 0.5 (was 0.25), nothing
    else. (Its recorded runs were configured as roi64 + that one edit at 68cabd5.)"""
    base, row = (_configure(n, 40, tmp_path, ladder=ladder)
                 for n in (f'{head}-roi64', f'{head}-roi64-pos0.5'))
    assert base.model.train_cfg.rcnn.sampler.pos_fraction == 0.25
    assert row.model.train_cfg.rcnn.sampler.pos_fraction == 0.5
    row.model.train_cfg.rcnn.sampler.pos_fraction = 0.25
    row.work_dir = base.work_dir
    assert row.model == base.model
    for key in ('train_dataloader', 'val_dataloader', 'param_scheduler', 'optim_wrapper',
                'train_cfg', 'randomness', 'custom_hooks', 'val_evaluator'):
        assert row.get(key) == base.get(key), key
