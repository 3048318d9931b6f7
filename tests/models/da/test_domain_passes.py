"""``DAFasterRCNN(domain_forward='separate'|'joint')`` and the padding masks (issue 14, item 7);
the pure helpers (:mod:`hce_det.models.da.valid_area`) are tested in test_valid_area.py.

* (a) padding never changes the ICR logits, the image-/local-domain losses, the pooled context or
  the mean image P(source): module level on random maps with garbage in the padded area, and
  detector level with a per-cell backbone (so a padded image's valid cells equal its unpadded
  cells): joint == separate == each image alone, and not so with the masks switched off;
* (b) 'separate': BatchNorm running statistics after one loss call equal those of running the
  backbone on each domain alone, and the RPN reads exactly each domain's own features;
* (c) 'joint': the earlier behaviour (one padded batch of both domains) except the masked
  terms: without padding identical, with padding only the image-level terms move;
* (d) loss / backward / predict of DA-Faster+ICR+CCR and SW-Faster+ICR+CCR in both modes on a
  batch of images of different sizes.
"""
import copy
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT, build_model, shrink_da
from mmengine.runner import Runner
from torch import nn

from hce_det.models.da import (GlobalDomainDiscriminator, ImageCategoryClassifier,
                               ImageDomainDiscriminator, LocalDomainDiscriminator)
from hce_det.models.da import da_faster_rcnn as da_mod
from hce_det.models.da.valid_area import valid_mask, valid_sizes

SYNTH = 'configs/cr_da/synth/'
DA = SYNTH + 'da-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py'
SW = SYNTH + 'sw-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py'
DETECTION = ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox')

pytestmark = pytest.mark.usefixtures('one_thread')


def _load(rel):
    import hce_det  # noqa: F401
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, rel))


def _setup(rel, data_root, work_dir, mode='separate'):
    cfg = shrink_da(_load(rel), data_root, work_dir)       # 2 source + 2 target
    cfg.model.domain_forward = mode
    model = build_model(cfg.model)
    data = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
    return cfg, model, model.data_preprocessor(data, True)


def _shrink(inputs, samples, i, hw):
    """Image ``i`` of a branch resized to ``hw`` in the top-left corner, zeros elsewhere (as the
    preprocessor pads); ``img_shape`` and boxes follow."""
    (h, w), (big_h, big_w) = hw, inputs.shape[-2:]
    inputs = inputs.clone()
    small = F.interpolate(inputs[i:i + 1], size=(h, w), mode='bilinear', align_corners=False)
    inputs[i] = 0
    inputs[i, :, :h, :w] = small[0]
    samples[i].set_metainfo(dict(img_shape=(h, w)))
    if 'gt_instances' in samples[i] and len(samples[i].gt_instances):
        b = samples[i].gt_instances.bboxes.clone()
        b[:, 0::2] *= w / big_w
        b[:, 1::2] *= h / big_h
        samples[i].gt_instances.bboxes = b
    return inputs


def _crop(inputs, samples, hw):
    """The branch padded to ``hw`` only (as the preprocessor pads a branch to its largest
    image)."""
    for s in samples:
        s.set_metainfo(dict(batch_input_shape=tuple(hw), pad_shape=tuple(hw)))
    return inputs[..., :hw[0], :hw[1]].contiguous()


def _padded(batch):
    """Source: 128x128 and 96x96 (padded to 128); target: 64x96 and 96x64 (padded to 96x96).
    Sizes are multiples of 32, so a per-cell backbone gives every padded image exactly its
    unpadded cells."""
    b = copy.deepcopy(batch)
    inp, smp = b['inputs'], b['data_samples']
    inp['source'] = _shrink(inp['source'], smp['source'], 1, (96, 96))
    inp['target'] = _shrink(inp['target'], smp['target'], 0, (64, 96))
    inp['target'] = _shrink(inp['target'], smp['target'], 1, (96, 64))
    inp['target'] = _crop(inp['target'], smp['target'], (96, 96))
    return b


def _single(batch, dom, i):
    """A batch holding image ``i`` of ``dom`` alone at its own size, with one image of the
    other domain (the first, also at its own size)."""
    b = copy.deepcopy(batch)
    out = dict(inputs={}, data_samples={})
    for d in ('source', 'target'):
        j = i if d == dom else 0
        s = b['data_samples'][d][j]
        h, w = s.metainfo['img_shape']
        out['inputs'][d] = _crop(b['inputs'][d][j:j + 1], [s], (h, w))
        out['data_samples'][d] = [s]
    return out


def _losses(model, batch, seed=0):
    torch.manual_seed(seed)
    losses = model.loss(copy.deepcopy(batch['inputs']), copy.deepcopy(batch['data_samples']))
    return {k: (sum(v) if isinstance(v, (list, tuple)) else v) for k, v in losses.items()
            if 'loss' in k}


@pytest.fixture
def no_masks(monkeypatch):
    """Switch the padding masks off (the detector then takes plain means over padded maps)."""
    monkeypatch.setattr(da_mod, 'valid_mask', lambda *a, **k: None)


# ------------------------------------------------------------------ (a) module level
def _pad_garbage(f, hw):
    """``f`` (1, C, h, w) placed top-left in a (1, C, H, W) map whose rest is large noise."""
    out = 100 * torch.randn(f.shape[:2] + tuple(hw), dtype=f.dtype)
    out[..., :f.shape[-2], :f.shape[-1]] = f
    return out


def test_padding_does_not_change_image_level_terms():
    """Each image of a padded batch (7x5 and 4x6 maps padded to 8x8, noise in the padding)
    gives the ICR logits, image-/local-domain losses, P(source) and local context of the
    unpadded map, in float64."""
    torch.manual_seed(0)
    maps = [torch.randn(1, 16, 7, 5, dtype=torch.float64),
            torch.randn(1, 16, 4, 6, dtype=torch.float64)]
    batch = torch.cat([_pad_garbage(f, (8, 8)) for f in maps])
    valid = valid_mask([(7 * 16, 5 * 16), (4 * 16, 6 * 16)], (128, 128), (8, 8))
    icr = ImageCategoryClassifier(16, num_classes=5).double()
    img = ImageDomainDiscriminator(16, feat_channels=8).double()
    local = LocalDomainDiscriminator(16).double()

    def close(a, b):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    close(icr(batch, valid), torch.cat([icr(f) for f in maps]))
    logits, img_alone = img(batch), [img(f) for f in maps]
    for dom in (0, 1):
        close(img.loss(logits, dom, valid),
              torch.stack([img.loss(a, dom) for a in img_alone]).mean())
    close(img.source_prob_per_image(logits, valid),
          torch.cat([img.source_prob_per_image(a) for a in img_alone]))
    (prob, ctx), local_alone = local(batch, valid=valid), [local(f) for f in maps]
    close(ctx, torch.cat([c for _, c in local_alone]))
    for dom in (0, 1):
        close(local.loss(prob, dom, valid), torch.stack([local.loss(p, dom)
                                                         for p, _ in local_alone]).mean())
    # without the mask the padding does enter (negative control)
    assert not torch.allclose(icr(batch), torch.cat([icr(f) for f in maps]))
    assert not torch.allclose(img.loss(logits, 1), torch.stack([img.loss(a, 1)
                                                                for a in img_alone]).mean())


def test_global_discriminator_pools_the_valid_cells():
    """The global discriminator's average pool covers the cells of its last (stride-8) map
    that start inside each image (border cells still read padding through the 3x3 convs)."""
    torch.manual_seed(0)
    disc = GlobalDomainDiscriminator(8).double().eval()
    x = torch.randn(2, 8, 16, 16, dtype=torch.float64)
    valid = valid_mask([(128, 128), (72, 40)], (128, 128), (16, 16))     # 9 x 5 cells
    logits, ctx = disc(x, valid=valid)
    h = x
    for conv, bn in zip(disc.convs, disc.bns):
        h = F.relu(bn(conv(h)))
    assert h.shape[-2:] == (2, 2)                     # 9 x 5 of 16 -> 2 x 1 of 2
    hand = torch.stack([h[0].mean((1, 2)), h[1, :, :2, :1].mean((1, 2))])
    torch.testing.assert_close(ctx, hand)
    torch.testing.assert_close(logits, disc.fc(hand))
    torch.testing.assert_close(disc(x)[1][0], hand[0])
    # one image whose last map is 1x1 cannot be batch-normalised in training
    with pytest.raises(ValueError, match='one value per channel'):
        disc.train()(torch.randn(1, 8, 8, 8, dtype=torch.float64))


# ------------------------------------------------------------------ (a) detector level
class _CellBackbone(nn.Module):
    """Per-cell features: average over each stride cell, 1x1 conv: a padded image's valid cells
    equal its unpadded cells when its size is a multiple of the strides."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(3, c, 1) for c in (32, 64, 128, 256))

    def forward(self, x):
        return tuple(torch.tanh(conv(F.avg_pool2d(x, s)))
                     for conv, s in zip(self.convs, (4, 8, 16, 32)))


class _CellNeck(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c, 64, 1) for c in (32, 64, 128, 256))

    def forward(self, feats):
        outs = [conv(f) for conv, f in zip(self.convs, feats)]
        return tuple(outs) + (F.max_pool2d(outs[-1], 1, stride=2), )    # as mmdet FPN's P6


@pytest.fixture(scope='module')
def cell_da(tiny_data, tmp_path_factory):
    """DA-Faster + ICR + CCR (image DA on the 5 neck levels, ICR on backbone.3) on a per-cell
    backbone, and a 2+2 batch of different sizes."""
    cfg, model, batch = _setup(DA, tiny_data, tmp_path_factory.mktemp('cell'))
    torch.manual_seed(0)
    model.backbone, model.neck = _CellBackbone(), _CellNeck()
    return model, _padded(batch)


def _image_terms(model, batch, mode):
    """(losses, {domain: per-image P(source) the consistency loss reads})."""
    model.domain_forward = mode
    seen = {}
    orig = type(model)._consistency

    def record(ins, roi_img, img_p, n_img):
        seen['source' if 'source' not in seen else 'target'] = img_p.detach().clone()
        return orig(ins, roi_img, img_p, n_img)
    model._consistency = record
    try:
        losses = _losses(model, batch)
    finally:
        del model._consistency
    return losses, seen


def test_padding_does_not_change_detector_image_terms(cell_da, monkeypatch):
    """With per-cell features, each image's image-domain loss, ICR loss and P(source) are those
    of the image alone at its own size, whether its batch is padded to its domain's largest
    image ('separate') or to both domains' ('joint'); with the masks off they are not."""
    model, batch = cell_da
    model = copy.deepcopy(model)
    terms = {m: _image_terms(model, batch, m) for m in ('separate', 'joint')}
    # each image alone, at its own size (no padding anywhere)
    alone = {d: [_image_terms(model, _single(batch, d, i), 'separate') for i in range(2)]
             for d in ('source', 'target')}
    expect = dict(
        loss_img_da_s=sum(a[0]['loss_img_da_s'] for a in alone['source']) / 2,
        loss_img_da_t=sum(a[0]['loss_img_da_t'] for a in alone['target']) / 2,
        loss_icr=sum(a[0]['loss_icr'] for a in alone['source']) / 2)
    p_alone = {d: torch.cat([a[1][d] for a in alone[d]]) for d in ('source', 'target')}
    for mode, (losses, p_src) in terms.items():
        for k, v in expect.items():
            torch.testing.assert_close(losses[k], v, rtol=2e-6, atol=1e-7, msg=f'{mode} {k}')
        for d in ('source', 'target'):
            torch.testing.assert_close(p_src[d], p_alone[d], rtol=2e-6, atol=1e-7,
                                       msg=f'{mode} P(source) {d}')
    # negative control: unmasked means over the padded maps differ from the images alone
    monkeypatch.setattr(da_mod, 'valid_mask', lambda *a, **k: None)
    for mode in ('separate', 'joint'):
        losses, p_src = _image_terms(model, batch, mode)
        for k in expect:
            assert abs(float(losses[k]) - float(expect[k])) > 1e-5 * abs(float(expect[k])), k
        assert not torch.allclose(p_src['target'], p_alone['target'], rtol=1e-5)


def test_sw_test_time_context_pools_each_images_valid_area(tiny_data, tmp_path):
    """At test time (``predict`` / ``_forward`` hand the samples to ``features``) the SW context
    pools each image's valid area (its ``img_shape``); ``extract_feat`` (no sizes) pools the
    padding too. Exact equality with the image alone does not hold here: SW's discriminators
    have 3x3 convs whose border cells see the padding."""
    from hce_det.models.da.domain_passes import image_sizes
    cfg, model, batch = _setup(SW, tiny_data, tmp_path)
    assert model.sw_context is not None
    model.eval()
    b = _padded(batch)
    inputs, samples = b['inputs']['target'], b['data_samples']['target']  # 64x96, 96x64 in 96x96
    hw = tuple(inputs.shape[-2:])
    with torch.no_grad():
        ctx = model.features(inputs, samples).image_context
        blind = model.extract_feat(inputs).image_context
        feats = model.backbone(inputs)
        want = model._image_context(feats, model.neck(feats), image_sizes(samples, hw), hw)
        seen = {}
        orig = model.features

        def spy(x, s=None):
            seen['samples'] = s
            return orig(x, s)
        model.features = spy
        model.predict(inputs, samples)
        del model.features
    torch.testing.assert_close(ctx, want)
    assert not torch.allclose(blind, want, rtol=1e-4)
    assert seen['samples'] is samples


# ------------------------------------------------------------------ (b) separate mode
def _bn_state(model):
    return {k: v.clone() for k, v in model.backbone.state_dict().items()
            if k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))}


@pytest.fixture(scope='module')
def real_da(tiny_data, tmp_path_factory):
    cfg, model, batch = _setup(DA, tiny_data, tmp_path_factory.mktemp('real'))
    return cfg, model, _padded(batch)


def test_separate_mode_each_domain_alone_through_the_backbone(real_da):
    """'separate': one loss call leaves the backbone BatchNorm running statistics of running
    the backbone on the source images, then on the target images, each alone (train mode); the
    RPN reads exactly those features of each domain. 'joint' does not (control)."""
    _, base, batch = real_da
    for mode in ('separate', 'joint'):
        model = copy.deepcopy(base).train()
        model.domain_forward = mode
        ref = copy.deepcopy(base).train()
        with torch.no_grad():
            want = [ref.neck(ref.backbone(batch['inputs'][d])) for d in ('source', 'target')]
        rpn_in = []
        hook = model.rpn_head.register_forward_hook(lambda m, i, o: rpn_in.append(i[0]))
        _losses(model, batch)
        hook.remove()
        same_stats = all(torch.equal(a, b) for a, b in zip(_bn_state(model).values(),
                                                            _bn_state(ref).values()))
        if mode == 'joint':
            assert not same_stats
            assert rpn_in[0][0].shape[-2:] == (32, 32) and rpn_in[1][0].shape[-2:] == (32, 32)
            continue
        assert same_stats
        assert len(rpn_in) == 2                  # source loss_and_predict, target predict
        for got, exp in zip(rpn_in, want):
            assert len(got) == len(exp) == 5
            for g, e in zip(got, exp):
                assert torch.equal(g, e)
        assert rpn_in[1][0].shape[-2:] == (24, 24)       # target padded to 96 x 96 only


# ------------------------------------------------------------------ (c) joint mode
def test_joint_mode_is_the_earlier_behaviour_except_the_masked_terms(real_da, monkeypatch):
    """'joint' = both domains in one batch padded to a common size (the earlier behaviour).
    Without padding the masks are None and every loss is that of the unmasked code; with
    padding only the image-level terms change: image DA (valid pixels), ICR (valid pooling),
    consistency (P(source) over valid pixels) and, through the ICR logits in the CCR weights,
    the target instance loss. The detection terms and the source instance term do not move,
    and the two image DA terms equal a hand computation on the captured joint features."""
    cfg, base, padded = real_da
    model = copy.deepcopy(base)
    model.domain_forward = 'joint'
    cap = []
    model.img_da.register_forward_hook(lambda m, i, o: cap.append(o.detach()))
    masked = _losses(model, padded)
    logits_masked = list(cap)
    cap.clear()
    monkeypatch.setattr(da_mod, 'valid_mask', lambda *a, **k: None)
    plain = _losses(model, padded)
    for k in DETECTION + ('loss_ins_da_s', ):
        assert torch.equal(masked[k], plain[k]), k
    for k in ('loss_img_da_s', 'loss_img_da_t', 'loss_icr', 'loss_cst_s', 'loss_cst_t',
              'loss_ins_da_t'):
        assert not torch.equal(masked[k], plain[k]), k
    # hand computation from the joint per-level logits (4 images padded to 128 x 128)
    img_hw = [s.metainfo['img_shape'] for d in ('source', 'target')
              for s in padded['data_samples'][d]]
    assert [tuple(hw) for hw in img_hw] == [(128, 128), (96, 96), (64, 96), (96, 64)]
    hand_masked, hand_plain = {}, {}
    for dom, sl, label in (('s', slice(0, 2), 1), ('t', slice(2, 4), 0)):
        per_level_m, per_level_p = [], []
        for lg in logits_masked:
            assert lg.size(0) == 4
            ce = F.cross_entropy(lg[sl], torch.full((2, ) + lg.shape[2:], label), reduction='none')
            sizes = valid_sizes(img_hw[sl], (128, 128), lg.shape[-2:])
            per_level_m.append(torch.stack([ce[i, :h, :w].mean() for i, (h, w)
                                            in enumerate(sizes.tolist())]).mean())
            per_level_p.append(ce.mean())
        hand_masked[dom] = 0.1 * torch.stack(per_level_m).mean()
        hand_plain[dom] = 0.1 * torch.stack(per_level_p).mean()
        torch.testing.assert_close(masked[f'loss_img_da_{dom}'], hand_masked[dom])
        torch.testing.assert_close(plain[f'loss_img_da_{dom}'], hand_plain[dom])
    # no padding anywhere: masks are None, so the masked and unmasked runs are bit-equal
    batch = copy.deepcopy(padded)
    for d in ('source', 'target'):
        batch['inputs'][d] = F.pad(batch['inputs'][d], (0, 128 - batch['inputs'][d].shape[-1],
                                                        0, 128 - batch['inputs'][d].shape[-2]))
        for s in batch['data_samples'][d]:
            s.set_metainfo(dict(img_shape=(128, 128), batch_input_shape=(128, 128)))
    plain = _losses(model, batch)
    monkeypatch.undo()
    masked = _losses(model, batch)
    assert masked.keys() == plain.keys()
    for k in masked:
        assert torch.equal(masked[k], plain[k]), k


# ------------------------------------------------------------------ (d) both modes, both models
@pytest.mark.slow
@pytest.mark.parametrize('rel', [DA, SW], ids=['DA-Faster+ICR+CCR', 'SW-Faster+ICR+CCR'])
def test_loss_backward_predict_in_both_modes(rel, tiny_data, tmp_path):
    cfg, base, batch = _setup(rel, tiny_data, tmp_path)
    batch = _padded(batch)
    val = next(iter(Runner.build_dataloader(cfg.val_dataloader, seed=0)))
    val['inputs'] = val['inputs'][:3]
    val['data_samples'] = val['data_samples'][:3]
    # a test batch of different sizes: image 1 at 96 x 64 inside the 128 x 128 batch
    val['inputs'][1] = F.interpolate(val['inputs'][1][None].float(), size=(96, 64))[0].to(
        val['inputs'][1].dtype)
    val['data_samples'][1].set_metainfo(dict(img_shape=(96, 64)))
    names = [n for n in ('img_da', 'ins_da', 'icr', 'local_da', 'global_da')
             if getattr(base, n) is not None]
    results = {}
    for mode in ('separate', 'joint'):
        model = copy.deepcopy(base).train()
        model.domain_forward = mode
        losses = _losses(model, batch)
        assert {'loss_ins_da_s', 'loss_ins_da_t', 'loss_icr'} <= set(losses)
        assert all(torch.isfinite(v) for v in losses.values()), losses
        sum(losses.values()).backward()
        for n in names:
            assert any(p.grad is not None and p.grad.abs().sum() > 0
                       for p in getattr(model, n).parameters()), (mode, n)
        model.eval()
        with torch.no_grad():
            out = model.test_step(copy.deepcopy(val))
        assert len(out) == 3 and all(len(o.pred_instances) for o in out)
        results[mode] = losses
    # the two modes differ (BatchNorm over one domain vs both)
    assert any(not torch.equal(results['separate'][k], results['joint'][k]) for k in DETECTION)


def test_domain_forward_option_and_ladder_rows(load_cfg):
    cfg = load_cfg(DA)
    assert build_model(cfg.model).domain_forward == 'separate'
    bad = copy.deepcopy(cfg)
    bad.model.domain_forward = 'mixed'
    with pytest.raises(ValueError, match='domain_forward'):
        build_model(bad.model)
    from tools.analysis.ladders import LADDERS
    ladder = LADDERS['cr_da']
    # each row flips its config's mode: DA configs default to 'separate', the synth SW
    # configs set 'joint' (their header gives the measurement)
    for name, own, other in (('DA-Faster+ICR+CCR', 'separate', 'joint'),
                             ('SW-Faster+ICR+CCR', 'joint', 'separate')):
        head, flip = ladder.variant(name), ladder.variant(f'{name}-{other}')
        assert flip.config == head.config and flip.ablation and not head.ablation
        c = load_cfg(flip.config)
        assert c.model.get('domain_forward', 'separate') == own
        flip.edit(c, {})
        assert c.model.domain_forward == other
