"""The explicit HCE data flow (issue 16.2: the image-level context computed once in
``loss`` / ``predict`` and passed down, late fusion decided in the predict path, the RoI labels
taken once) gives the losses, gradients and predictions of the previous implementation (a lazy
context cache and a test-time flag on the feature tuple, ``get_targets`` recomputed in
``bbox_loss``) on a fixed batch with the same weights.

How the numbers were produced: the code at commit 9e1bdff (the last one before the change) ran
``python tests/models/hce/test_hce_refactor_equivalence.py`` (the procedure of ``_run`` below, one
intra-op thread); every loss, the sum of absolute gradients per module after ``backward`` of the
total loss, the sum of predicted scores and the number of detections per test image and the sum
of the tensor-mode outputs were recorded (float64 of float32 computations). The tolerances only
absorb BLAS differences on other machines.

Settings: every mmdet family of ``test_hce_families`` (ResNet-18, two 128 px images), Faster
R-CNN with the OHEM sampler (which calls ``_bbox_forward`` on per-image features), with trained
``logit_sum`` late fusion, with ``test_branch='det'`` and with late fusion off; and the synth
ladder configs of the gated, late-conv-gs0.3 and HCE + APA + DropLoss rows; HCE + DA-Faster + ICR
(sharing HCE's embedding) + CCR on 2 source + 2 target images (the context now computed once per
domain for the RoI losses, the target RoIs and ICR).
"""
import copy
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, osp.dirname(__file__))
from conftest import two_domain_demo_batch  # noqa: E402
from test_hce_families import FAMILIES, batch, build, small_cfg  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
SYNTH = {
    'synth_gated': 'configs/hce/hce-gated_faster-rcnn_r18-thin_fpn_1k_synth-context.py',
    'synth_late_conv_gs0p3':
        'configs/hce/hce-late-conv-gs0p3_faster-rcnn_r18-thin_fpn_1k_synth-context.py',
    'synth_apa_droploss': 'configs/hce/hce-apa-droploss_faster-rcnn_r18-thin_fpn_1k_synth-lt.py',
}
FASTER = FAMILIES['faster'][0]


def _faster(**hce_keys):
    return lambda: small_cfg(FASTER, 'HCERoIHead', **hce_keys)


def _ohem():
    cfg = small_cfg(FASTER, 'HCERoIHead')
    cfg.train_cfg.rcnn.sampler = dict(type='OHEMSampler', num=32, pos_fraction=0.25,
                                      neg_pos_ub=-1, add_gt_as_proposals=True)
    return cfg


def _synth(rel):
    def load():
        import hce_det  # noqa: F401
        from mmengine.config import Config
        model = Config.fromfile(osp.join(ROOT, rel)).model
        loss = model.roi_head.bbox_head.loss_cls
        if 'ann_file' in loss:  # DropLoss: class counts without the generated data
            loss.pop('ann_file')
            loss.update(class_image_counts=[40., 30., 20., 9., 5., 3., 2., 1., 1., 1.],
                        num_train_images=60)
        return model
    return load


SETTINGS = {name: (lambda rel=rel, ht=ht: small_cfg(rel, ht), mask, name == 'htc')
            for name, (rel, ht, _, mask) in FAMILIES.items()}
SETTINGS.update({
    'faster_ohem': (_ohem, False, False),
    'faster_logit_sum': (_faster(late_fusion=dict(fusion='logit_sum')), False, False),
    'faster_det_branch': (_faster(late_fusion=dict(test_branch='det')), False, False),
    'faster_no_late': (_faster(late_fusion=None), False, False),
})
SETTINGS.update({name: (_synth(rel), False, False) for name, rel in SYNTH.items()})


def _num_classes(cfg):
    heads = cfg.roi_head.bbox_head
    return (heads[0] if isinstance(heads, list) else heads).num_classes


def _flat(t):
    if isinstance(t, torch.Tensor):
        return [t]
    return [u for v in (t.values() if isinstance(t, dict) else t) for u in _flat(v)]


def _measure(model, train: dict, test: dict, tensor_mode: bool = True) -> dict:
    """Losses (seed 1), per-module |grad| sums of their total, predicted score sums and
    detection counts, and (``tensor_mode``) the sum of the tensor-mode outputs."""
    model.train()
    torch.manual_seed(1)
    losses = model.loss(train['inputs'], copy.deepcopy(train['data_samples']))
    out = dict(losses={k: float(sum(torch.as_tensor(t).detach().sum() for t in
                                    (v if isinstance(v, list) else [v])))
                       for k, v in losses.items() if 'loss' in k})
    model.zero_grad()
    model.parse_losses(losses)[0].backward()
    out['grads'] = {n: float(sum(p.grad.double().abs().sum() for p in m.parameters()
                                 if p.grad is not None))
                    for n, m in model.named_children() if n != 'data_preprocessor'}
    model.eval()
    with torch.no_grad():
        results = model.predict(test['inputs'], copy.deepcopy(test['data_samples']))
        tensors = model._forward(test['inputs'], copy.deepcopy(test['data_samples'])) \
            if tensor_mode else []
    out['scores'] = [float(r.pred_instances.scores.double().sum()) for r in results]
    out['dets'] = [len(r.pred_instances) for r in results]
    out['forward'] = float(sum(t.double().sum() for t in _flat(tensors)))
    return out


def _run(name):
    make, with_mask, with_semantic = SETTINGS[name]
    cfg = make()
    model = build(cfg)
    np.random.seed(0)  # demo_mm_inputs draws HTC's semantic maps from numpy's global state
    data = batch(model, with_mask, with_semantic) if _num_classes(cfg) == 10 else None
    if data is None:
        from mmdet.testing import demo_mm_inputs
        torch.manual_seed(0)
        data = model.data_preprocessor(demo_mm_inputs(
            batch_size=2, image_shapes=(3, 128, 128), num_items=[3, 2],
            num_classes=_num_classes(cfg)), True)
    return _measure(model, data, data)


HCE_DA = 'configs/cr_da/synth/hce-da-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py'


def _run_da():
    """HCE + DA-Faster + ICR (sharing HCE's embedding) + CCR, 2 source + 2 target images of
    different sizes (as ``test_da_refactor_equivalence``): losses, grads, predictions."""
    model_cfg = _synth(HCE_DA)()
    model_cfg.train_cfg.pop('target_proposal', None)
    model = build(model_cfg)
    torch.manual_seed(0)
    train, test = two_domain_demo_batch(model, _num_classes(model_cfg))
    return _measure(model, train, test, tensor_mode=False)


RUNS = {**{name: (lambda name=name: _run(name)) for name in SETTINGS}, 'hce_da': _run_da}


PINNED = {'cascade': {'dets': [10, 10],
                       'forward': -1687.8660041963194,
                       'grads': {'backbone': 78.19715060709012,
                                 'neck': 106.92160568174998,
                                 'roi_head': 346.45805731144424,
                                 'rpn_head': 10.128563395857727},
                       'losses': {'loss_img_cls': 0.7077147960662842,
                                  'loss_rpn_bbox': 0.13257072865962982,
                                  'loss_rpn_cls': 0.6934697031974792,
                                  's0.loss_bbox': 0.03289806842803955,
                                  's0.loss_cls': 2.3851547241210938,
                                  's0.loss_ctx_cls': 2.4066390991210938,
                                  's1.loss_bbox': 0.04739179089665413,
                                  's1.loss_cls': 1.204182744026184,
                                  's1.loss_ctx_cls': 1.2048726081848145,
                                  's2.loss_bbox': 1.9748846113998297e-07,
                                  's2.loss_cls': 0.5999104976654053,
                                  's2.loss_ctx_cls': 0.5963516235351562},
                       'scores': [0.9403943121433258, 0.9383548647165298]},
           'cascade_mask': {'dets': [10, 10],
                            'forward': 248962.60787415877,
                            'grads': {'backbone': 48.77457553353591,
                                      'neck': 79.56788630599215,
                                      'roi_head': 411.88727793424664,
                                      'rpn_head': 9.345157807115953},
                            'losses': {'loss_img_cls': 0.7011982798576355,
                                       'loss_rpn_bbox': 0.13516315817832947,
                                       'loss_rpn_cls': 0.6934597492218018,
                                       's0.loss_bbox': 2.6018358312285272e-06,
                                       's0.loss_cls': 2.37937331199646,
                                       's0.loss_ctx_cls': 2.4078543186187744,
                                       's0.loss_mask': 0.712371826171875,
                                       's1.loss_bbox': 1.7782590475690085e-06,
                                       's1.loss_cls': 1.1985957622528076,
                                       's1.loss_ctx_cls': 1.1997143030166626,
                                       's1.loss_mask': 0.3399323523044586,
                                       's2.loss_bbox': 4.381834912692284e-07,
                                       's2.loss_cls': 0.5957772731781006,
                                       's2.loss_ctx_cls': 0.600976288318634,
                                       's2.loss_mask': 0.17219814658164978},
                            'scores': [0.9213345274329185, 0.9223280474543571]},
           'double_head': {'dets': [10, 10],
                           'forward': -1691.694804300697,
                           'grads': {'backbone': 65.71641270668897,
                                     'neck': 104.58753181930393,
                                     'roi_head': 375.0834943463539,
                                     'rpn_head': 7.938083712377733},
                           'losses': {'loss_bbox': 0.19993850588798523,
                                      'loss_cls': 4.6828083992004395,
                                      'loss_ctx_cls': 2.3859567642211914,
                                      'loss_img_cls': 0.7055116891860962,
                                      'loss_rpn_bbox': 0.03006172552704811,
                                      'loss_rpn_cls': 0.6937059164047241},
                           'scores': [0.9430096074938774, 0.9455480575561523]},
           'dynamic': {'dets': [10, 10],
                       'forward': -1687.2263601419045,
                       'grads': {'backbone': 41.73989636310763,
                                 'neck': 73.3826655531271,
                                 'roi_head': 222.92924121289298,
                                 'rpn_head': 8.270586598325053},
                       'losses': {'loss_bbox': 4.586278009810485e-06,
                                  'loss_cls': 2.4278628826141357,
                                  'loss_ctx_cls': 2.3942205905914307,
                                  'loss_img_cls': 0.6918289065361023,
                                  'loss_rpn_bbox': 0.02992510423064232,
                                  'loss_rpn_cls': 0.6941190958023071},
                       'scores': [0.9536735340952873, 0.9548296928405762]},
           'faster': {'dets': [10, 10],
                      'forward': -1687.2170707758073,
                      'grads': {'backbone': 43.45718125240277,
                                'neck': 75.51434872315036,
                                'roi_head': 230.63797741346738,
                                'rpn_head': 8.270586598325053},
                      'losses': {'loss_bbox': 0.0013992678141221404,
                                 'loss_cls': 2.4297232627868652,
                                 'loss_ctx_cls': 2.3942267894744873,
                                 'loss_img_cls': 0.6918289065361023,
                                 'loss_rpn_bbox': 0.02992510423064232,
                                 'loss_rpn_cls': 0.6941190958023071},
                      'scores': [0.9537719637155533, 0.9553273320198059]},
           'faster_det_branch': {'dets': [10, 10],
                                 'forward': -9.589674655714134,
                                 'grads': {'backbone': 43.45718125240277,
                                           'neck': 75.51434872315036,
                                           'roi_head': 230.63797741346738,
                                           'rpn_head': 8.270586598325053},
                                 'losses': {'loss_bbox': 0.0013992678141221404,
                                            'loss_cls': 2.4297232627868652,
                                            'loss_ctx_cls': 2.3942267894744873,
                                            'loss_img_cls': 0.6918289065361023,
                                            'loss_rpn_bbox': 0.02992510423064232,
                                            'loss_rpn_cls': 0.6941190958023071},
                                 'scores': [0.979851208627224, 0.9840126037597656]},
           'faster_logit_sum': {'dets': [10, 10],
                                'forward': -9.589674655714134,
                                'grads': {'backbone': 41.548051657475426,
                                          'neck': 72.77044883961229,
                                          'roi_head': 245.67928043724694,
                                          'rpn_head': 8.270586598325053},
                                'losses': {'loss_bbox': 0.0013992678141221404,
                                           'loss_cls': 2.4297232627868652,
                                           'loss_ctx_cls': 2.397895574569702,
                                           'loss_img_cls': 0.6918289065361023,
                                           'loss_rpn_bbox': 0.02992510423064232,
                                           'loss_rpn_cls': 0.6941190958023071},
                                'scores': [0.979851208627224, 0.9840126037597656]},
           'faster_no_late': {'dets': [10, 10],
                              'forward': 4.8704895280457094,
                              'grads': {'backbone': 44.04800403776789,
                                        'neck': 67.40031007752431,
                                        'roi_head': 238.51616288463995,
                                        'rpn_head': 7.986798348705495},
                              'losses': {'loss_bbox': 0.0016342701856046915,
                                         'loss_cls': 2.4320921897888184,
                                         'loss_img_cls': 0.7049930691719055,
                                         'loss_rpn_bbox': 0.030239371582865715,
                                         'loss_rpn_cls': 0.6956927180290222},
                              'scores': [1.0163112133741379, 1.0255061462521553]},
           'faster_ohem': {'dets': [10, 10],
                           'forward': -1687.2170707758073,
                           'grads': {'backbone': 44.837414730456274,
                                     'neck': 77.8701559042202,
                                     'roi_head': 233.1896545388209,
                                     'rpn_head': 8.270586598325053},
                           'losses': {'loss_bbox': 0.0013992678141221404,
                                      'loss_cls': 2.4389846324920654,
                                      'loss_ctx_cls': 2.3941829204559326,
                                      'loss_img_cls': 0.6918289065361023,
                                      'loss_rpn_bbox': 0.02992510423064232,
                                      'loss_rpn_cls': 0.6941190958023071},
                           'scores': [0.9537719637155533, 0.9553273320198059]},
           'grid': {'dets': [10, 10],
                    'forward': -4150496.2848689556,
                    'grads': {'backbone': 36.82209633484354,
                              'neck': 81.45456838504221,
                              'roi_head': 368.98461131277907,
                              'rpn_head': 8.442575164401827},
                    'losses': {'loss_cls': 2.4051175117492676,
                               'loss_ctx_cls': 2.398634910583496,
                               'loss_grid': 1.180956482887268,
                               'loss_img_cls': 0.7191272974014282,
                               'loss_rpn_bbox': 0.1326521933078766,
                               'loss_rpn_cls': 0.691956102848053},
                    'scores': [0.9467740282416344, 0.9485352635383606]},
           'hce_da': {'dets': [100, 100, 100, 100],
                      'forward': 0.0,
                      'grads': {'backbone': 173.79382114133682,
                                'img_da': 0.2875235142489383,
                                'ins_da': 7.906602592188817,
                                'neck': 555.9761340952476,
                                'roi_head': 2792.7984396644565,
                                'rpn_head': 45.164483059950186},
                      'losses': {'loss_bbox': 0.04363374784588814,
                                 'loss_cls': 2.34887957572937,
                                 'loss_cst_s': 0.000419064424932003,
                                 'loss_cst_t': 0.0008934502839110792,
                                 'loss_ctx_cls': 2.397895574569702,
                                 'loss_icr': 0.7745598554611206,
                                 'loss_img_cls': 0.7745598554611206,
                                 'loss_img_da_s': 0.06898068636655807,
                                 'loss_img_da_t': 0.06964804977178574,
                                 'loss_ins_da_s': 0.06966570764780045,
                                 'loss_ins_da_t': 0.10544276237487793,
                                 'loss_rpn_bbox': 0.012604217045009136,
                                 'loss_rpn_cls': 0.6939848065376282},
                      'scores': [11.450375095009804, 11.384519524872303, 11.378868088126183,
                                 11.297245539724827]},
           'htc': {'dets': [10, 10],
                   'forward': 242716.999678705,
                   'grads': {'backbone': 66.94855831426364,
                             'neck': 90.50559951358142,
                             'roi_head': 527.1889044632371,
                             'rpn_head': 12.051057069116021},
                   'losses': {'loss_img_cls': 0.7102092504501343,
                              'loss_rpn_bbox': 0.13450923562049866,
                              'loss_rpn_cls': 0.6912867426872253,
                              'loss_semantic_seg': 1.1170077323913574,
                              's0.loss_bbox': 0.05261065810918808,
                              's0.loss_cls': 2.343672513961792,
                              's0.loss_ctx_cls': 2.395399808883667,
                              's0.loss_mask': 0.7131111025810242,
                              's1.loss_bbox': 3.2204409308178583e-06,
                              's1.loss_cls': 1.1742140054702759,
                              's1.loss_ctx_cls': 1.203644871711731,
                              's1.loss_mask': 0.3384222388267517,
                              's2.loss_bbox': 2.956533933229366e-07,
                              's2.loss_cls': 0.6034809947013855,
                              's2.loss_ctx_cls': 0.6040983200073242,
                              's2.loss_mask': 0.17195895314216614},
                   'scores': [0.9414381384849548, 0.9474824443459511]},
           'htc_no_semantic': {'dets': [10, 10],
                               'forward': 243889.75763825432,
                               'grads': {'backbone': 45.99560636806278,
                                         'neck': 78.31866430554956,
                                         'roi_head': 326.9161292795323,
                                         'rpn_head': 9.048200964441907},
                               'losses': {'loss_img_cls': 0.7082895040512085,
                                          'loss_rpn_bbox': 0.13391612470149994,
                                          'loss_rpn_cls': 0.6944755911827087,
                                          's0.loss_bbox': 1.1282562581982347e-06,
                                          's0.loss_cls': 2.341346502304077,
                                          's0.loss_ctx_cls': 2.3819963932037354,
                                          's0.loss_mask': 0.7137630581855774,
                                          's1.loss_bbox': 1.2860712104156846e-06,
                                          's1.loss_cls': 1.2188435792922974,
                                          's1.loss_ctx_cls': 1.195173978805542,
                                          's1.loss_mask': 0.3416110873222351,
                                          's2.loss_bbox': 1.4920752278158034e-07,
                                          's2.loss_cls': 0.6133785247802734,
                                          's2.loss_ctx_cls': 0.5957808494567871,
                                          's2.loss_mask': 0.17113521695137024},
                               'scores': [0.9292265921831131, 0.9314886033535004]},
           'libra': {'dets': [10, 10],
                     'forward': -1685.7009980777602,
                     'grads': {'backbone': 74.5754872348091,
                               'neck': 107.12634482037829,
                               'roi_head': 333.9229954749981,
                               'rpn_head': 11.465582275627375},
                     'losses': {'loss_bbox': 0.24503427743911743,
                                'loss_cls': 2.517937183380127,
                                'loss_ctx_cls': 2.397425651550293,
                                'loss_img_cls': 0.7250281572341919,
                                'loss_rpn_bbox': 0.1223146989941597,
                                'loss_rpn_cls': 0.693357527256012},
                     'scores': [0.9789763018488884, 0.9781142994761467]},
           'mask': {'dets': [10, 10],
                    'forward': -38402.37058127963,
                    'grads': {'backbone': 113.11464539327383,
                              'neck': 202.5430321008377,
                              'roi_head': 382.2352672245693,
                              'rpn_head': 5.116434213392387},
                    'losses': {'loss_bbox': 0.06860775500535965,
                               'loss_cls': 2.3525609970092773,
                               'loss_ctx_cls': 2.3839282989501953,
                               'loss_img_cls': 0.7078679203987122,
                               'loss_mask': 0.8576472401618958,
                               'loss_rpn_bbox': 0.032153692096471786,
                               'loss_rpn_cls': 0.6930105090141296},
                    'scores': [0.9569553956389427, 0.9531777575612068]},
           'ms_rcnn': {'dets': [10, 10],
                       'forward': 51760.97767612066,
                       'grads': {'backbone': 144.53150872012424,
                                 'neck': 207.22378767017838,
                                 'roi_head': 416.88716943609194,
                                 'rpn_head': 6.049245104474591},
                       'losses': {'loss_bbox': 0.12911410629749298,
                                  'loss_cls': 2.3795814514160156,
                                  'loss_ctx_cls': 2.3896117210388184,
                                  'loss_img_cls': 0.717215359210968,
                                  'loss_mask': 0.7436983585357666,
                                  'loss_mask_iou': 0.07131879031658173,
                                  'loss_rpn_bbox': 0.03216196969151497,
                                  'loss_rpn_cls': 0.6932942867279053},
                       'scores': [0.02399358036927879, 0.02262492320733145]},
           'pisa': {'dets': [10, 10],
                    'forward': -1687.2170707758073,
                    'grads': {'backbone': 42.551042899864925,
                              'neck': 74.30334608011184,
                              'roi_head': 227.3162650300423,
                              'rpn_head': 8.270586598325053},
                    'losses': {'loss_bbox': 4.586278009810485e-06,
                               'loss_carl': 4.587873263517395e-06,
                               'loss_cls': 2.429025650024414,
                               'loss_ctx_cls': 2.3942275047302246,
                               'loss_img_cls': 0.6918289065361023,
                               'loss_rpn_bbox': 0.02992510423064232,
                               'loss_rpn_cls': 0.6941190958023071},
                    'scores': [0.9537719637155533, 0.9553273320198059]},
           'pisa_mask': {'dets': [10, 10],
                         'forward': -38402.37058127963,
                         'grads': {'backbone': 112.86432198321702,
                                   'neck': 202.40627395991612,
                                   'roi_head': 379.0889954217417,
                                   'rpn_head': 5.116434213392387},
                         'losses': {'loss_bbox': 0.03845633938908577,
                                    'loss_carl': 0.03831193596124649,
                                    'loss_cls': 2.353862762451172,
                                    'loss_ctx_cls': 2.383920669555664,
                                    'loss_img_cls': 0.7078679203987122,
                                    'loss_mask': 0.8576472401618958,
                                    'loss_rpn_bbox': 0.032153692096471786,
                                    'loss_rpn_cls': 0.6930105090141296},
                         'scores': [0.9569553956389427, 0.9531777575612068]},
           'point_rend': {'dets': [10, 10],
                          'forward': 49229.60495138061,
                          'grads': {'backbone': 4224.494874444259,
                                    'neck': 6431.236593497406,
                                    'roi_head': 16299.30691890412,
                                    'rpn_head': 455.03185685840435},
                          'losses': {'loss_bbox': 0.11301559954881668,
                                     'loss_cls': 8.569499015808105,
                                     'loss_ctx_cls': 2.4112327098846436,
                                     'loss_img_cls': 2.183185577392578,
                                     'loss_mask': 0.3125757873058319,
                                     'loss_point': 0.6947798728942871,
                                     'loss_rpn_bbox': 0.03986167535185814,
                                     'loss_rpn_cls': 0.7957022786140442},
                          'scores': [5.0889517068862915, 5.126629084348679]},
           'synth_apa_droploss': {'dets': [300, 300],
                                  'forward': -11288.71316116136,
                                  'grads': {'backbone': 25.220444821885785,
                                            'neck': 123.96746921068024,
                                            'roi_head': 838.1093178373893,
                                            'rpn_head': 44.34302064139251},
                                  'losses': {'loss_bbox': 0.055501554161310196,
                                             'loss_cls': 1.4376503229141235,
                                             'loss_ctx_cls': 6.222078800201416,
                                             'loss_img_cls': 0.7607171535491943,
                                             'loss_rpn_bbox': 0.01086976658552885,
                                             'loss_rpn_cls': 0.6887798309326172},
                                  'scores': [39.84690681099892, 39.89387735724449]},
           'synth_gated': {'dets': [100, 100],
                           'forward': 17.98461588679472,
                           'grads': {'backbone': 115.14313084867888,
                                     'neck': 616.6210049927755,
                                     'roi_head': 3262.0247857931754,
                                     'rpn_head': 49.09143226384833},
                           'losses': {'loss_bbox': 0.027397658675909042,
                                      'loss_cls': 2.353794813156128,
                                      'loss_ctx_cls': 2.397895574569702,
                                      'loss_img_cls': 0.775139570236206,
                                      'loss_rpn_bbox': 0.010369095019996166,
                                      'loss_rpn_cls': 0.6892160773277283},
                           'scores': [12.01959852129221, 12.144372068345547]},
           'synth_late_conv_gs0p3': {'dets': [100, 100],
                                     'forward': -51.850150383265145,
                                     'grads': {'backbone': 78.64345989107488,
                                               'neck': 316.3718946488498,
                                               'roi_head': 2362.38893481032,
                                               'rpn_head': 38.04248028810139},
                                     'losses': {'loss_bbox': 0.09349881857633591,
                                                'loss_cls': 2.736670970916748,
                                                'loss_ctx_cls': 2.397895574569702,
                                                'loss_img_cls': 0.7732424736022949,
                                                'loss_rpn_bbox': 0.011157160624861717,
                                                'loss_rpn_cls': 0.6926902532577515},
                                     'scores': [10.849057488143444, 10.687368601560593]}}


@pytest.mark.usefixtures('one_thread')
@pytest.mark.parametrize('name', list(RUNS))
def test_same_losses_grads_and_predictions_as_before(name):
    got, want = RUNS[name](), PINNED[name]
    assert got['dets'] == want['dets']
    for key in ('losses', 'grads'):
        assert set(got[key]) == set(want[key]), key
        for k, v in want[key].items():
            assert got[key][k] == pytest.approx(v, rel=1e-4, abs=1e-6), (key, k)
    assert got['scores'] == pytest.approx(want['scores'], rel=1e-4, abs=1e-5)
    assert got['forward'] == pytest.approx(want['forward'], rel=1e-4, abs=1e-4)


if __name__ == '__main__':
    torch.set_num_threads(1)
    pinned = {n: RUNS[n]() for n in (sys.argv[2:] or RUNS)}
    with open(sys.argv[1], 'w') as f:
        json.dump(pinned, f, indent=1, sort_keys=True)
