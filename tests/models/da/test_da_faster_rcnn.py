"""DAFasterRCNN on the built-in fog split: two-domain batches, losses, target labels unused,
test-time equality with Faster R-CNN, edge cases, config checks (the GRL schedule:
tests/engine/hooks/test_grl_schedule.py)."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT, build_model, shrink_da
from mmengine.runner import Runner
from mmengine.structures import InstanceData

SYNTH = 'configs/cr_da/synth/'
DA_ICR_CCR = SYNTH + 'da-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py'
SW_ICR_CCR = SYNTH + 'sw-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py'
DA_KEYS = ('img_da.', 'ins_da.', 'icr.', 'local_da.', 'global_da.')


pytestmark = pytest.mark.usefixtures('one_thread')


def _build(cfg):
    return build_model(cfg.model)


def _train_batch(cfg, model):
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    data = next(iter(loader))
    return model.data_preprocessor(data, True)


def _load(rel):
    import hce_det  # noqa: F401
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, rel))


@pytest.fixture(scope='module')
def da_setup(tiny_data, tmp_path_factory):
    """SW-Faster + ICR + CCR + DA-Faster image/consistency terms (every component on except the
    SW context vectors, which change the test-time detector; see test_sw_context.py), 2+2
    batch. Shared by the tests of this module (read-only use: tests deep-copy what they change)."""
    cfg = shrink_da(_load(SW_ICR_CCR), tiny_data, tmp_path_factory.mktemp('da'))
    cfg.model.pop('sw_context')
    cfg.model.roi_head.type = 'StandardRoIHead'
    cfg.model.roi_head.pop('context_channels')
    cfg.model.ins_da.in_channels = cfg.model.roi_head.bbox_head.fc_out_channels
    cfg.model.img_da = cfg.img_da
    cfg.model.consistency = dict(loss_weight=0.1)
    model = _build(cfg)
    return cfg, model, _train_batch(cfg, model)


@pytest.mark.slow
def test_two_domain_batch_losses(da_setup):
    cfg, model, batch = da_setup
    assert len(batch['data_samples']['source']) == 2 and len(batch['data_samples']['target']) == 2
    assert batch['inputs']['source'].shape[0] == 2
    losses = model.loss(batch['inputs'], batch['data_samples'])
    expected = {'loss_img_da_s', 'loss_img_da_t', 'loss_ins_da_s', 'loss_ins_da_t', 'loss_cst_s',
                'loss_cst_t', 'loss_icr', 'loss_local_da_s', 'loss_local_da_t',
                'loss_global_da_s', 'loss_global_da_t', 'loss_rpn_cls', 'loss_cls', 'loss_bbox'}
    assert expected <= set(losses)
    total = 0
    for k, v in losses.items():
        v = sum(v) if isinstance(v, (list, tuple)) else v
        if 'loss' in k:
            assert torch.isfinite(v), k
            total = total + v
    total.backward()
    for name in ('img_da', 'ins_da', 'icr', 'local_da', 'global_da'):
        grads = [p.grad for p in getattr(model, name).parameters() if p.requires_grad]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), name
    model.zero_grad(set_to_none=True)


def test_reference_target_consistency_hand_computation(da_setup):
    """``consistency.reference_channels`` (CR-DA-DET DA_Faster_ICR_CCR faster_rcnn.py): each
    target RoI's instance P(source) against the mean over its image's pixels of image-level
    channel 0 (P(target)), sum over RoIs / images; hand computation in float64 from the captured
    discriminator outputs (1 source + 2 target images; FPN levels averaged per image). The
    default compares with P(source) = channel 1 instead."""
    _, model, batch = da_setup
    model = copy.deepcopy(model)
    # one source image: in the default domain_forward='separate' the SW global discriminator
    # would batch-normalise its 1x1 map of that image alone (it raises); not needed here
    model.global_da = None
    inputs = dict(source=batch['inputs']['source'][:1], target=batch['inputs']['target'])
    samples = copy.deepcopy(dict(source=batch['data_samples']['source'][:1],
                                 target=batch['data_samples']['target']))
    n_s, n_t = 1, 2
    rec = dict(img=[], ins=[], rois=[])
    model.img_da.register_forward_hook(lambda m, i, o: rec['img'].append(o.detach().double()))
    model.ins_da.register_forward_hook(lambda m, i, o: rec['ins'].append(o.detach().double()))
    model.roi_head.bbox_roi_extractor.register_forward_hook(
        lambda m, i, o: rec['rois'].append(i[1].detach()))
    got, hand = {}, {}
    for ref_channels in (True, False):
        for v in rec.values():
            v.clear()
        model.consistency = dict(loss_weight=0.1, reference_channels=ref_channels)
        torch.manual_seed(0)
        got[ref_channels] = model.loss(inputs, copy.deepcopy(samples))['loss_cst_t'].item()
        # per target image: mean over levels of the mean over pixels of softmax channel 0;
        # image-discriminator outputs hold both domains (n_s + n_t rows) or the target (n_t)
        p_tgt = [F.softmax(o, 1)[-n_t:, 0].flatten(1).mean(1)
                 for o in rec['img'] if o.size(0) in (n_t, n_s + n_t)]
        assert len(p_tgt) == 5                             # one per FPN level
        p_tgt = torch.stack(p_tgt).mean(0)
        ins_t, roi_img = rec['ins'][-1], rec['rois'][-1][:, 0].long()
        assert ins_t.numel() == roi_img.numel() > 0 and set(roi_img.tolist()) == {0, 1}
        p_img = p_tgt if ref_channels else 1 - p_tgt       # reference: P(target); ours: P(source)
        hand[ref_channels] = 0.1 * (torch.sigmoid(ins_t) - p_img[roi_img]).pow(2).sum() / n_t
        assert got[ref_channels] == pytest.approx(hand[ref_channels].item(), rel=1e-5)
    assert abs(got[True] - got[False]) > 0.1 * got[False]  # same dropout draws in both runs


def test_target_annotations_never_used(da_setup):
    _, model, batch = da_setup
    samples_fake = copy.deepcopy(batch['data_samples'])
    for s in samples_fake['target']:
        s.gt_instances = InstanceData(
            bboxes=torch.tensor([[4., 4., 60., 60.], [10., 20., 40., 90.]]),
            labels=torch.tensor([1, 3]))
    torch.manual_seed(1)
    ref = model.loss(copy.deepcopy(batch['inputs']), copy.deepcopy(batch['data_samples']))
    torch.manual_seed(1)
    fake = model.loss(copy.deepcopy(batch['inputs']), samples_fake)
    assert ref.keys() == fake.keys()
    for k in ref:
        a, b = ref[k], fake[k]
        a = torch.stack(list(a)) if isinstance(a, (list, tuple)) else a
        b = torch.stack(list(b)) if isinstance(b, (list, tuple)) else b
        assert torch.equal(a, b), k
    assert 'loss_ins_da_t' in ref and 'loss_img_da_t' in ref    # target images were used


def test_no_target_images_and_empty_source_boxes(da_setup):
    _, model, batch = da_setup
    inputs = dict(source=batch['inputs']['source'])
    samples = dict(source=copy.deepcopy(batch['data_samples']['source']))
    samples['source'][0].gt_instances = InstanceData(bboxes=torch.zeros(0, 4),
                                                    labels=torch.zeros(0, dtype=torch.long))
    losses = model.loss(inputs, samples)
    assert 'loss_ins_da_t' not in losses and 'loss_img_da_t' not in losses
    for k, v in losses.items():
        if 'loss' in k:
            v = sum(v) if isinstance(v, (list, tuple)) else v
            assert torch.isfinite(v), k
    with pytest.raises(ValueError, match='no source images'):
        model.loss(dict(target=batch['inputs']['target']),
                   dict(target=batch['data_samples']['target']))
    with pytest.raises(TypeError, match='two-domain'):
        model.loss(batch['inputs']['source'], batch['data_samples']['source'])


def test_preprocessor_drops_empty_branch(da_setup):
    cfg, model, _ = da_setup
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    data = next(iter(loader))
    data['inputs']['target'] = [None] * len(data['inputs']['target'])
    data['data_samples']['target'] = [None] * len(data['data_samples']['target'])
    out = model.data_preprocessor(data, True)
    assert set(out['inputs']) == {'source'}
    with pytest.raises(TypeError, match='MultiBranch'):
        model.data_preprocessor(dict(inputs=[torch.zeros(3, 8, 8)], data_samples=[None]), True)


@pytest.mark.slow
def test_source_target_ratio_any_batch(tiny_data, tmp_path, load_cfg):
    cfg = shrink_da(load_cfg(DA_ICR_CCR), tiny_data, tmp_path, batch_size=3, source_ratio=(1, 2))
    model = _build(cfg)
    batch = _train_batch(cfg, model)
    assert len(batch['data_samples']['source']) == 1
    assert len(batch['data_samples']['target']) == 2
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert torch.isfinite(losses['loss_ins_da_t']) and torch.isfinite(losses['loss_cst_t'])


def test_predict_equals_plain_faster_rcnn(da_setup):
    from mmdet.registry import MODELS
    cfg, da, _ = da_setup
    da = copy.deepcopy(da)
    plain_cfg = copy.deepcopy(cfg.model)
    for k in ('img_da', 'ins_da', 'consistency', 'local_da', 'global_da', 'icr', 'ccr',
              'domain_forward'):
        plain_cfg.pop(k, None)
    plain_cfg.type = 'FasterRCNN'
    plain = MODELS.build(plain_cfg)
    missing, unexpected = plain.load_state_dict(da.state_dict(), strict=False)
    assert not missing
    assert unexpected and all(k.startswith(DA_KEYS) for k in unexpected)
    da.eval()
    plain.eval()
    loader = Runner.build_dataloader(cfg.val_dataloader, seed=0)
    data = next(iter(loader))
    with torch.no_grad():
        out_da = da.test_step(copy.deepcopy(data))
        out_plain = plain.test_step(copy.deepcopy(data))
    assert len(out_da) == len(out_plain) > 1
    for a, b in zip(out_da, out_plain):
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)
        assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)
        assert torch.equal(a.pred_instances.labels, b.pred_instances.labels)


def test_target_proposals_follow_train_cfg_target_proposal(da_setup):
    """``train_cfg.target_proposal`` overrides ``test_cfg.rpn`` for the target RoIs only: the
    synth proxy keeps at most 150 per image; without it the RPN runs in test mode (reference)."""
    cfg, model, batch = da_setup
    model = copy.deepcopy(model).train()
    assert cfg.model.train_cfg.target_proposal == dict(max_per_img=150)
    merged = model.target_proposal_cfg()
    assert merged.max_per_img == 150
    assert merged.nms == model.test_cfg.rpn.nms and merged.nms_pre == model.test_cfg.rpn.nms_pre
    assert model.test_cfg.rpn.max_per_img == 300  # test-time proposals untouched
    from hce_det.models.da.domain_passes import split_domains
    two = split_domains(batch['inputs'], batch['data_samples'])
    x = model.roi_features(model.domain_passes(two))['target']
    samples = two.tgt_samples

    def per_image(max_per_img):
        model.train_cfg.target_proposal = None if max_per_img is None else \
            dict(max_per_img=max_per_img)
        out = model.target_rois(x, samples)
        return torch.bincount(out.rois[:, 0].long(), minlength=len(samples)).tolist()

    with torch.no_grad():
        small, full = per_image(7), per_image(None)
        test_mode = [len(p) for p in model.rpn_head.predict(x, samples, rescale=False)]
    assert all(0 < n <= 7 for n in small)
    assert full == test_mode and max(full) > 7


def test_build_time_errors(load_cfg):
    cfg = load_cfg(DA_ICR_CCR)
    bad = copy.deepcopy(cfg)
    bad.model.icr.num_classes = 7
    with pytest.raises(ValueError, match='num_classes'):
        _build(bad)
    bad = copy.deepcopy(cfg)
    bad.model.img_da = None
    with pytest.raises(ValueError, match='consistency needs'):
        _build(bad)
    bad = copy.deepcopy(cfg)
    bad.model.icr.pop('feats')
    with pytest.raises(ValueError, match="needs 'feats'"):
        _build(bad)
    bad = copy.deepcopy(cfg)
    bad.model.icr.feats = 'fpn.0'
    with pytest.raises(ValueError, match='backbone'):
        _build(bad)
    bad = copy.deepcopy(cfg)
    bad.model.consistency = dict(loss_weight=0.1, reference_channel=True)
    with pytest.raises(ValueError, match='reference_channels'):
        _build(bad)
    bad = copy.deepcopy(cfg)
    bad.model.train_cfg.target_proposal = dict(max_per_image=150)
    with pytest.raises(ValueError, match='target_proposal keys'):
        _build(bad)


@pytest.mark.slow
@pytest.mark.parametrize('name', [
    'da-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py',
    'sw-faster_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py',
    'oracle_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py',
])
def test_synth_configs_train_and_validate(name, tiny_data, tmp_path, load_cfg):
    # SW-Faster: 2 + 2 images, as its proxy runs; with domain_forward='separate' one image per
    # domain would leave the global discriminator's BatchNorm one value per channel (1x1 map)
    batch_size = 4 if name.startswith('sw-faster') else 2
    cfg = shrink_da(load_cfg(SYNTH + name), tiny_data, tmp_path, max_iters=2,
                    batch_size=batch_size)
    cfg.train_cfg.val_interval = 100          # validate once, below, on 4 images
    cfg.val_dataloader.dataset.indices = 4
    if 'ins_da' in cfg.model or 'img_da' in cfg.model:
        cfg.custom_hooks = [dict(type='GRLScheduleHook')]
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    assert 'voc50/mAP50_area' in metrics and 0 <= metrics['voc50/mAP50_area'] <= 1
