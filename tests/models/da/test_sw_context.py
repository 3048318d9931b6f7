"""SW-Faster context vectors: ContextLinear arithmetic, per-RoI routing of each image's context,
gradient paths (detection loss trains the context branches, not the backbone through them),
the instance-discriminator input, test-time use, and build-time errors."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT, build_model, shrink_da
from mmengine.runner import Runner

SW = 'configs/cr_da/synth/sw-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py'


pytestmark = pytest.mark.usefixtures('one_thread')
_build = build_model


@pytest.fixture(scope='module')
def sw(tiny_data, tmp_path_factory):
    import hce_det  # noqa: F401
    from mmengine.config import Config
    cfg = shrink_da(Config.fromfile(osp.join(ROOT, SW)), tiny_data,
                    tmp_path_factory.mktemp('sw'))
    model = _build(cfg.model)
    data = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
    return cfg, model, model.data_preprocessor(data, True)


def test_context_linear_is_a_linear_on_context_then_features():
    from hce_det.models.da import ContextLinear
    torch.manual_seed(0)
    fc = ContextLinear(in_features=3, context_channels=2, out_features=4)
    assert fc.weight.shape == (4, 5)
    x, ctx = torch.randn(6, 3), torch.randn(6, 2)
    with pytest.raises(RuntimeError, match='without context'):
        fc(x)
    torch.testing.assert_close(fc(x, ctx), x @ fc.weight[:, 2:].T + ctx @ fc.weight[:, :2].T
                               + fc.bias)
    with pytest.raises(ValueError, match=r'\(6, 2\)'):
        fc(x, ctx[:5])


def test_roi_head_routes_each_roi_to_its_image_context(sw):
    from hce_det.models.da import ImageContextFeatures
    _, model, _ = sw
    head = model.roi_head
    head.eval()
    torch.manual_seed(1)
    x = tuple(torch.randn(2, 64, s, s) for s in (32, 16, 8, 4, 2))
    ctx = torch.randn(2, 256)
    rois = torch.tensor([[0, 4., 4., 40., 40.], [1, 10., 8., 60., 90.], [0, 0., 0., 100., 70.]])
    seen = []
    hook = head.bbox_head.fc_cls.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    with pytest.raises(RuntimeError, match='sw_context'):
        head._bbox_forward(x, rois)           # plain features carry no context
    out = head._bbox_forward(ImageContextFeatures(x, ctx), rois)
    hook.remove()
    fc = head.bbox_head.fc_cls
    expect = F.linear(torch.cat([ctx[[0, 1, 0]], seen[-1]], 1), fc.weight, fc.bias)
    torch.testing.assert_close(out['cls_score'], expect)
    # the context is an argument of the call: nothing is left on the layers
    assert not hasattr(fc, 'context') and not hasattr(head.bbox_head.fc_reg, 'context')
    # changing image 1's context changes only the RoI of image 1
    ctx2 = ctx.clone()
    ctx2[1] += 1.0
    out2 = head._bbox_forward(ImageContextFeatures(x, ctx2), rois)
    same = (out2['cls_score'] == out['cls_score']).all(1)
    assert same.tolist() == [True, False, True]
    assert not torch.equal(out2['bbox_pred'][1], out['bbox_pred'][1])


def test_training_losses_gradient_paths_and_instance_input(sw, monkeypatch):
    _, model, batch = sw
    model = copy.deepcopy(model)
    model.train()
    model.domain_forward = 'separate'   # the synth SW configs run 'joint'; test the default
    ctx_seen, ins_inputs = [], []
    orig = model._image_context
    monkeypatch.setattr(model, '_image_context',
                        lambda f, x, *a: ctx_seen.append(orig(f, x, *a)) or ctx_seen[-1])
    model.ins_da.register_forward_hook(lambda m, i, o: ins_inputs.append(i[0]))
    losses = model.loss(batch['inputs'], batch['data_samples'])
    n_s, n_t = len(batch['data_samples']['source']), len(batch['data_samples']['target'])
    # domain_forward='separate': one context call per domain, source first
    assert n_s == n_t == 2 and [len(c) for c in ctx_seen] == [n_s, n_t]
    ctx = torch.cat(ctx_seen)
    assert ctx.shape == (n_s + n_t, 256)
    assert torch.isfinite(model.parse_losses(losses)[0])
    # the instance discriminator reads [context of the RoI's image, 256-d RoI feature]
    ins_s, ins_t = ins_inputs
    assert ins_s.shape[1] == ins_t.shape[1] == 512
    src_rows = {tuple(r.tolist()) for r in ctx[:n_s].detach()}
    tgt_rows = {tuple(r.tolist()) for r in ctx[n_s:].detach()}
    assert {tuple(r.tolist()) for r in ins_s[:, :256].detach()} <= src_rows
    assert {tuple(r.tolist()) for r in ins_t[:, :256].detach()} == tgt_rows
    # the instance loss reaches the context branches nowhere (its context input is detached)
    model.zero_grad()
    losses['loss_ins_da_t'].backward(retain_graph=True)
    assert model.ins_da.classifier.weight.grad.abs().sum() > 0
    assert model.local_da.conv2.weight.grad is None and model.global_da.convs[2].weight.grad is None
    # the detection loss alone trains both context branches (they feed fc_cls) ...
    model.zero_grad()
    losses['loss_cls'].backward(retain_graph=True)
    assert model.local_da.conv2.weight.grad.abs().sum() > 0
    assert model.global_da.convs[2].weight.grad.abs().sum() > 0
    assert model.ins_da.classifier.weight.grad is None      # not part of the detection loss
    # ... but never the backbone through them: the context reads detached features
    feats = tuple(f.detach().requires_grad_() for f in model.backbone(batch['inputs']['source']))
    orig(feats, feats).sum().backward()
    assert all(f.grad is None for f in feats)


def test_predict_uses_the_context_branches(sw):
    cfg, model, _ = sw
    model = copy.deepcopy(model).eval()
    data = next(iter(Runner.build_dataloader(cfg.val_dataloader, seed=0)))
    with torch.no_grad():
        a = model.test_step(copy.deepcopy(data))
        model.global_da.convs[2].weight.mul_(3.0)  # changes the global context vector only
        b = model.test_step(copy.deepcopy(data))
    assert len(a) == len(b) == len(data['inputs']) > 1
    assert any(len(x.pred_instances) for x in a)
    assert not all(torch.equal(x.pred_instances.scores, y.pred_instances.scores)
                   for x, y in zip(a, b))


def test_build_time_errors(load_cfg):
    base = load_cfg(SW).model
    cases = [
        (dict(roi_head=dict(type='StandardRoIHead', context_channels=None)),
         "roi_head.type='SWContextRoIHead'"),
        (dict(roi_head=dict(context_channels=128)), 'context_channels=128'),
        (dict(sw_context=dict(sources=['img_da'])), "source 'img_da'"),
        (dict(sw_context=dict(sources=['local_da'], ins_da=True, gate=1)), 'unknown'),
        (dict(ins_da=dict(in_channels=256)), 'set ins_da.in_channels=512'),
        (dict(sw_context=None), 'needs sw_context'),
    ]
    for change, msg in cases:
        cfg = copy.deepcopy(base)
        for k, v in change.items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                cfg[k].update(v)
                for key in [key for key, val in v.items() if val is None]:
                    cfg[k].pop(key)
            else:
                cfg[k] = v
        with pytest.raises(ValueError, match=msg.replace('(', r'\(').replace(')', r'\)')):
            _build(cfg)
    # a single source: 128-d context, instance input 256 + 128
    cfg = copy.deepcopy(base)
    cfg.sw_context = dict(sources=['global_da'], ins_da=True)
    cfg.roi_head.context_channels = 128
    cfg.ins_da.in_channels = 384
    model = _build(cfg)
    assert model.roi_head.bbox_head.fc_cls.weight.shape[1] == 384
