"""HCE + CR-DA (issue 16.3): the synth-fog config builds a DAFasterRCNN with the generated
DAHCERoIHead, one loss/backward on a source + target batch gives the HCE, DA and ICR/CCR losses,
and ICR shares HCE's categorical embedding (one module, gradients from both BCE terms)."""
import copy
import os.path as osp

import pytest
import torch
from conftest import ROOT, build_model, shrink_da
from mmengine.runner import Runner

from hce_det.models.da.domain_passes import split_domains

HCE_DA = 'configs/cr_da/synth/hce-da-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py'
PLAIN_DA = 'configs/cr_da/synth/da-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py'

pytestmark = pytest.mark.usefixtures('one_thread')


def _load(rel):
    import hce_det  # noqa: F401
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, rel))


@pytest.fixture(scope='module')
def hce_da(tiny_data, tmp_path_factory):
    cfg = shrink_da(_load(HCE_DA), tiny_data, tmp_path_factory.mktemp('hce_da'), batch_size=2)
    model = build_model(cfg.model)
    model.init_weights()
    data = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
    return cfg, model, model.data_preprocessor(data, True)


def test_builds_with_generated_head_and_one_shared_classifier(hce_da):
    _, model, _ = hce_da
    assert type(model.roi_head).__name__ == 'DAHCERoIHead'
    assert model.icr is None and model.icr_shared == dict(loss_weight=1.0)
    keys = list(model.state_dict())
    assert not any(k.startswith('icr.') for k in keys)
    assert [k for k in keys if k.endswith('cat_conv.weight')] == \
        ['roi_head.context_embedding.cat_conv.weight']


def test_loss_backward_gives_hce_da_icr_ccr_losses_and_shared_grads(hce_da):
    _, model, batch = hce_da
    assert batch['inputs']['source'].shape[0] == 1 and batch['inputs']['target'].shape[0] == 1
    model.train()
    losses = model.loss(batch['inputs'], batch['data_samples'])
    hce = {'loss_img_cls', 'loss_ctx_cls', 'loss_cls', 'loss_bbox'}
    da = {'loss_img_da_s', 'loss_img_da_t', 'loss_ins_da_s', 'loss_ins_da_t', 'loss_cst_s',
          'loss_cst_t'}
    assert hce | da | {'loss_icr'} <= set(losses)
    cat_conv = model.roi_head.context_embedding.cat_conv.weight
    for key in ('loss_img_cls', 'loss_icr'):  # the shared classifier learns from both terms
        model.zero_grad(set_to_none=True)
        losses[key].backward(retain_graph=True)
        assert cat_conv.grad is not None and cat_conv.grad.abs().sum() > 0, key
    model.zero_grad(set_to_none=True)
    model.parse_losses(losses)[0].backward()
    for name in ('img_da', 'ins_da'):
        assert any(p.grad is not None and p.grad.abs().sum() > 0
                   for p in getattr(model, name).parameters()), name
    assert model.roi_head.context_cls[0].fc_cls.weight.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)


def test_ccr_reads_the_shared_image_logits_of_the_target(hce_da):
    _, model, batch = hce_da
    split = split_domains(batch['inputs'], batch['data_samples'])
    with torch.no_grad():
        passes = model.domain_passes(split)
        x = model.roi_features(passes)
        losses, logits = model.category_regularization(passes, split.src_samples, x)
        assert set(logits) == {'source', 'target'}
        torch.testing.assert_close(logits['target'], model.roi_head.image_logits(x['target']))
        # the target RoI outputs come from HCE's box forward: classifier input + scores
        out = model.target_rois(x['target'], split.tgt_samples)
    assert out.cls_feats.shape[1] == model.ins_da.in_channels
    assert out.cls_score.shape == (out.rois.shape[0], 11)


def test_predict_runs(hce_da):
    _, model, batch = hce_da
    model.eval()
    with torch.no_grad():
        res = model.predict(batch['inputs']['source'], batch['data_samples']['source'])
    assert len(res) == 1 and (res[0].pred_instances.scores <= 1 + 1e-6).all()
    model.train()


def test_sharing_switches_and_errors(load_cfg):
    cfg = load_cfg(HCE_DA).model
    icr = load_cfg(PLAIN_DA).model.icr
    sep = copy.deepcopy(cfg)
    sep.icr = dict(icr, share_hce_embedding=False)   # a separate ICR classifier, on request
    model = build_model(sep)
    assert model.icr is not None and model.icr_shared is None
    bad = copy.deepcopy(cfg)
    bad.icr = dict(icr)                              # an own-classifier config on an HCE head
    with pytest.raises(ValueError, match='share_hce_embedding'):
        build_model(bad)
    plain = load_cfg(PLAIN_DA).model
    plain.icr = dict(loss_weight=1.0, share_hce_embedding=True)
    with pytest.raises(ValueError, match='needs an HCE RoI head'):
        build_model(plain)


def test_cascade_hce_head_gets_its_da_twin():
    """mmdet's Cascade R-CNN with HCECascadeRoIHead in DAFasterRCNN: the generated
    DAHCECascadeRoIHead runs loss/backward on a 1 + 1 batch (instance terms on the last stage)."""
    from mmdet.testing import demo_mm_inputs
    from mmengine.hub import get_config
    model_cfg = get_config('mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py').model
    model_cfg.backbone.update(depth=18, init_cfg=None)
    model_cfg.neck.in_channels = [64, 128, 256, 512]
    model_cfg.train_cfg.rpn_proposal.update(nms_pre=100, max_per_img=32)
    model_cfg.test_cfg.rpn.update(nms_pre=100, max_per_img=32)
    for stage in model_cfg.train_cfg.rcnn:
        stage.sampler.num = 16
    model_cfg.roi_head.type = 'HCECascadeRoIHead'
    model_cfg.roi_head.late_fusion = dict(fusion='logit_sum')
    model_cfg.update(type='DAFasterRCNN', ins_da=dict(type='InstanceDomainDiscriminator',
                                                      in_channels=1024, feat_channels=64),
                     icr=dict(loss_weight=1.0), ccr=dict(lam=1.0))
    model = build_model(model_cfg)
    assert type(model.roi_head).__name__ == 'DAHCECascadeRoIHead' and model.icr is None
    data = demo_mm_inputs(batch_size=2, image_shapes=[(3, 96, 96)] * 2, num_items=[3, 2],
                          num_classes=80)
    two = dict(inputs=dict(source=data['inputs'][:1], target=data['inputs'][1:]),
               data_samples=dict(source=data['data_samples'][:1],
                                 target=data['data_samples'][1:]))
    batch = model.data_preprocessor(two, True)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert {'loss_icr', 'loss_img_cls', 'loss_ins_da_s', 'loss_ins_da_t', 's2.loss_ctx_cls',
            's0.loss_cls'} <= set(losses)
    model.parse_losses(losses)[0].backward()
    assert model.roi_head.context_embedding.cat_conv.weight.grad.abs().sum() > 0


def test_hce_context_is_computed_once_per_domain(hce_da):
    """One embedding forward per domain serves the RoI losses, the target RoIs and ICR/CCR."""
    _, model, batch = hce_da
    model.train()
    calls = []
    handle = model.roi_head.context_embedding.register_forward_hook(
        lambda m, args, out: calls.append(args[0][0].shape[0]))
    try:
        model.loss(batch['inputs'], batch['data_samples'])
    finally:
        handle.remove()
    assert calls == [1, 1]  # source, target (one image each)
    model.zero_grad(set_to_none=True)
