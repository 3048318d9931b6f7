import io

import numpy as np
import pytest
import torch

import hce_det  # noqa: F401  (applies compat)


class _Evil:
    def __reduce__(self):
        return (print, ('code ran',))


def test_history_buffer_round_trips_under_weights_only():
    from mmengine.logging.history_buffer import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(1.5)
    f = io.BytesIO()
    torch.save({'meta': {'message_hub': {'log_scalars': {'loss': buf}}}}, f)
    f.seek(0)
    out = torch.load(f, weights_only=True)
    assert out['meta']['message_hub']['log_scalars']['loss'].current() == 1.5


def test_safe_loader_still_rejects_other_globals():
    f = io.BytesIO()
    torch.save({'x': _Evil()}, f)
    f.seek(0)
    with pytest.raises(Exception, match='(?i)weights_only|unsupported global'):
        torch.load(f, weights_only=True)


class _GetattrGadget:
    def __reduce__(self):
        return (getattr, (np.ndarray, 'tofile'))


def test_getattr_is_restricted_to_history_buffer_methods():
    f = io.BytesIO()
    torch.save({'x': _GetattrGadget()}, f)
    f.seek(0)
    with pytest.raises(Exception, match='only HistoryBuffer statistics methods'):
        torch.load(f, weights_only=True)


class NotAllowListed:
    """A plain class a checkpoint may hold (e.g. a config object); not on the allow-list."""


def test_refused_checkpoint_names_the_global_and_never_suggests_unsafe_loading(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    from hce_det.compat import UnsafeCheckpointError
    path = tmp_path / 'foreign.pth'
    torch.save({'state_dict': {'w': torch.zeros(2)}, 'meta': {'cfg': NotAllowListed()}}, path)
    name = f'{__name__}.NotAllowListed'
    with pytest.raises(Exception, match='`weights_only` set to `False`'):  # torch's own advice
        torch.load(path, weights_only=True)
    err = pytest.raises(UnsafeCheckpointError, _load_checkpoint, str(path), map_location='cpu')
    msg = str(err.value)
    assert 'foreign.pth' in msg and f'the global {name}, which is not on' in msg
    assert f'from {__name__} import NotAllowListed; ' \
           'torch.serialization.add_safe_globals([NotAllowListed])' in msg
    assert 'False' not in msg and 'weights_only=True' in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__  # torch's text hidden
    with torch.serialization.safe_globals([NotAllowListed]):  # what the message tells users
        assert isinstance(_load_checkpoint(str(path), map_location='cpu')['meta']['cfg'],
                          NotAllowListed)


# ---------------------------------------------------------------------------- the index
# hce_det.compat.WORKAROUNDS: each entry's targets are the installed versions, its fix exists,
# its tests exist; then one "needed" test per workaround (it fails once upstream changes the
# behaviour the workaround is for) and the tests that the scoped/import ones work as indexed.
import ast  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import os.path as osp  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from importlib import import_module  # noqa: E402
from importlib.metadata import version  # noqa: E402

from hce_det.compat import SCOPES, WORKAROUNDS  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _accelerator():
    from hce_det.engine.optim_wrappers import _accelerator_available
    return _accelerator_available()


def _test_names(path):
    tree = ast.parse(open(osp.join(ROOT, path)).read())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_index_targets_the_installed_versions_and_names_existing_fixes_and_tests():
    assert len({w.name for w in WORKAROUNDS}) == len(WORKAROUNDS)
    for w in WORKAROUNDS:
        assert w.scope in SCOPES, w.name
        for target in w.targets:
            pkg, want = target.split('==')
            have = version(pkg).split('+')[0]
            assert have == want, (
                f'{w.name} targets {target} but {pkg} {have} is installed: run its needed-test '
                f'({w.tests[0]}); if it still fails upstream, move the target to {have}, else '
                f'drop the workaround')
        module, _, obj = w.fix.rpartition('.')
        assert hasattr(import_module(module), obj), w.fix
        assert w.tests, w.name
        for test in w.tests:
            path, _, name = test.partition('::')
            assert name in _test_names(path), f'{w.name}: {test} does not exist'
    # the import-time entries are exactly what apply_all applies
    from hce_det import compat
    applied = {n.func.id for n in ast.walk(ast.parse(inspect.getsource(compat.apply_all)))
               if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert applied == {w.fix.rpartition('.')[2] for w in WORKAROUNDS if w.scope == 'import'}


_PROCESS_STATE = r'''
import json, os, random, sys, warnings
import numpy as np, torch
from mmengine.registry import Registry
import mmengine.registry as mmengine_registry
from mmdet.utils import register_all_modules
import mmdet.registry as mmdet_registry
register_all_modules(init_default_scope=False)
import mmcv.ops, importlib
from mmcv.ops import RoIAlign
from mmengine.runner.checkpoint import CheckpointLoader
nms_mod = importlib.import_module('mmcv.ops.nms')
try:
    import lvis.eval as lvis_eval
except ImportError:
    lvis_eval = None

def registries():
    out = {}
    for mod in (mmengine_registry, mmdet_registry):
        for attr, reg in vars(mod).items():
            if isinstance(reg, Registry):
                out[f'{mod.__name__}.{attr}'] = dict(reg.module_dict)
    return out

def state():
    return dict(safe=sorted(map(str, torch.serialization.get_safe_globals())),
                schemes={k: f'{v.__module__}.{v.__name__}' for k, v in
                         CheckpointLoader._schemes.items()},
                nms=id(nms_mod.nms), roi_align=id(RoIAlign.forward),
                lvis_np=None if lvis_eval is None else type(lvis_eval.np).__name__,
                threads=torch.get_num_threads(), dtype=str(torch.get_default_dtype()),
                torch_rng=torch.get_rng_state().sum().item(), np_rng=int(np.random.get_state()[2]),
                py_rng=random.getstate()[1][:3], env=dict(os.environ),
                grad=torch.is_grad_enabled(), deterministic=torch.are_deterministic_algorithms_enabled(),
                cudnn=[torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic],
                warnings=len(warnings.filters))

before, regs = state(), registries()
import hce_det
from hce_det.compat import checkpoint_safe_globals
after, regs_after = state(), registries()
changed = {}
for name, entries in regs.items():
    new = regs_after[name]
    changed[name] = dict(
        replaced=sorted(k for k, v in entries.items() if new.get(k) is not v),
        added=sorted(k for k in new if k not in entries),
        foreign=sorted(k for k in new if k not in entries
                       and not getattr(new[k], '__module__', '').startswith('hce_det')))
print(json.dumps(dict(before=before, after=after, registries=changed,
                      allowed=sorted(map(str, checkpoint_safe_globals())))))
'''


def test_import_changes_only_the_indexed_process_state():
    """``import hce_det`` in a fresh interpreter: registry additions (hce_det objects only, no
    upstream entry replaced), torch's safe globals (exactly :func:`checkpoint_safe_globals`),
    the local-file checkpoint loader and ``lvis.eval.np``; nothing else of the checked state
    (mmcv ops, RNGs, threads, default dtype, environment, autograd/cudnn flags, warnings)."""
    out = subprocess.run([sys.executable, '-c', _PROCESS_STATE], cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=ROOT), timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    before, after = res['before'], res['after']
    assert set(after['safe']) - set(before['safe']) == set(res['allowed']) - set(before['safe'])
    assert set(before['safe']) <= set(after['safe'])
    assert {k for k in after['schemes'] if after['schemes'][k] != before['schemes'].get(k)} \
        == {''}
    assert after['schemes'][''] == 'hce_det.compat.load_from_local'
    if before['lvis_np'] is not None:
        assert after['lvis_np'] == '_NumpyWithRemovedAliases'
    for key in ('nms', 'roi_align', 'threads', 'dtype', 'torch_rng', 'np_rng', 'py_rng', 'env',
                'grad', 'deterministic', 'cudnn', 'warnings'):
        assert after[key] == before[key], key
    added = 0
    for name, change in res['registries'].items():
        assert not change['replaced'], (name, change['replaced'])
        assert not change['foreign'], (name, change['foreign'])
        added += len(change['added'])
    assert added > 50                                    # our modules did register


def test_needed_mmengine_checkpoints_fail_the_safe_loader_upstream(tmp_path):
    """Without hce_det, torch's weights-only loader refuses an mmengine message hub."""
    script = ('import io, pickle, torch\n'
              'from mmengine.logging.history_buffer import HistoryBuffer\n'
              'buf = HistoryBuffer(); buf.update(1.0); f = io.BytesIO()\n'
              'torch.save({"meta": {"message_hub": {"log_scalars": {"loss": buf}}}}, f)\n'
              'f.seek(0)\n'
              'try:\n    torch.load(f, weights_only=True); print("LOADED")\n'
              'except pickle.UnpicklingError:\n    print("REFUSED")\n')
    out = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                         timeout=300)
    assert out.stdout.strip().splitlines()[-1] == 'REFUSED', out.stderr[-2000:]


def test_needed_lvis_uses_removed_numpy_aliases():
    pytest.importorskip('lvis')
    import lvis.eval
    assert not hasattr(np, 'float')
    assert 'np.float' in inspect.getsource(lvis.eval)


def test_needed_mmcv_cpu_ops_reject_bfloat16():
    from mmcv.ops import RoIAlign, nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.]], dtype=torch.bfloat16)
    with pytest.raises(RuntimeError, match='BFloat16'):
        nms(boxes, torch.tensor([0.9, 0.8], dtype=torch.bfloat16), 0.5)
    with pytest.raises(RuntimeError, match='BFloat16'):
        RoIAlign(2)(torch.zeros(1, 1, 8, 8, dtype=torch.bfloat16),
                    torch.tensor([[0., 0., 0., 4., 4.]], dtype=torch.bfloat16))


def test_bf16_op_patch_is_scoped_to_the_wrapper_forward():
    """On CPU the float32 fallback of mmcv's nms/RoIAlign is active inside the wrapper's
    ``optim_context`` (with bfloat16 autocast) and nowhere else; nested blocks and errors
    restore the original ops."""
    if _accelerator():
        pytest.skip('CpuAmpOptimWrapper is AmpOptimWrapper on accelerators')
    import importlib

    from mmcv.ops import RoIAlign, batched_nms
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    from hce_det.engine.optim_wrappers import fp32_mmcv_ops_for_cpu_bf16
    init_default_scope('mmdet')
    nms_mod = importlib.import_module('mmcv.ops.nms')
    orig_nms, orig_roi = nms_mod.nms, RoIAlign.forward
    model = torch.nn.Linear(2, 2)
    wrapper = build_optim_wrapper(model, dict(type='CpuAmpOptimWrapper', dtype='bfloat16',
                                              optimizer=dict(type='SGD', lr=0.1)))
    assert nms_mod.nms is orig_nms and RoIAlign.forward is orig_roi      # building: no patch
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    idxs = torch.zeros(3, dtype=torch.long)
    ref_dets, ref_keep = batched_nms(boxes, scores, idxs, dict(type='nms', iou_threshold=0.5))
    feats, rois = torch.randn(1, 2, 8, 8), torch.tensor([[0., 1., 1., 6., 6.]])
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu')
        assert nms_mod.nms is not orig_nms and RoIAlign.forward is not orig_roi
        dets, keep = batched_nms(boxes.bfloat16(), scores.bfloat16(), idxs,
                                 dict(type='nms', iou_threshold=0.5))
        assert torch.equal(keep, ref_keep) and dets.dtype == torch.bfloat16
        out = RoIAlign(2)(feats.bfloat16(), rois.bfloat16())
        assert out.dtype == torch.bfloat16
        torch.testing.assert_close(out.float(), RoIAlign(2)(feats, rois), atol=0.05, rtol=0.05)
        with fp32_mmcv_ops_for_cpu_bf16():                # nested: no change, no restore
            patched = nms_mod.nms
        assert nms_mod.nms is patched
    assert nms_mod.nms is orig_nms and RoIAlign.forward is orig_roi
    with pytest.raises(ValueError, match='inside'):
        with fp32_mmcv_ops_for_cpu_bf16():
            raise ValueError('inside')
    assert nms_mod.nms is orig_nms and RoIAlign.forward is orig_roi


def test_needed_amp_optim_wrapper_refuses_cpu():
    if _accelerator():
        pytest.skip('an accelerator is present')
    from mmengine.optim import AmpOptimWrapper
    with pytest.raises(AssertionError):
        AmpOptimWrapper(optimizer=torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1))


def test_needed_pytorch_launcher_needs_cuda(monkeypatch):
    import torch.distributed as dist
    from mmengine.dist import init_dist
    if torch.cuda.is_available() or dist.is_initialized():
        pytest.skip('needs a machine without CUDA devices and no process group')
    for k, v in dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                     MASTER_PORT='29533').items():
        monkeypatch.setenv(k, v)
    try:
        with pytest.raises((RuntimeError, AssertionError, AttributeError)):
            init_dist('pytorch', backend='gloo')
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_needed_cfg_options_cannot_reach_an_evaluator_list():
    from mmengine.config import Config
    cfg = Config(dict(test_evaluator=[dict(type='A'), dict(type='B')]))
    with pytest.raises(TypeError):
        cfg.merge_from_dict({'test_evaluator.out_json': 'x.json'})


def test_needed_runner_keeps_no_rng_state():
    """(Source check: mmengine's Runner neither saves nor restores the global generators.)"""
    from mmengine.runner import Runner
    src = inspect.getsource(Runner)
    assert 'get_rng_state' not in src and 'set_rng_state' not in src


def test_needed_multi_branch_preprocessor_fails_on_an_empty_branch():
    from mmdet.models.data_preprocessors import MultiBranchDataPreprocessor
    from mmdet.structures import DetDataSample
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    pre = MultiBranchDataPreprocessor(data_preprocessor=dict(type='DetDataPreprocessor'))
    data = dict(inputs=dict(source=[torch.zeros(3, 8, 8, dtype=torch.uint8)], target=[None]),
                data_samples=dict(source=[DetDataSample()], target=[None]))
    with pytest.raises(Exception):
        pre(data, True)


def test_needed_eqlv2_loss_lacks_custom_cls_channels():
    from mmdet.models.losses import EQLV2Loss
    assert not getattr(EQLV2Loss, 'custom_cls_channels', False)


def test_needed_seesaw_counts_are_not_reduced():
    """(Source check: mmdet's SeesawLoss never all-reduces its class counts.)"""
    from mmdet.models.losses import SeesawLoss
    assert 'all_reduce' not in inspect.getsource(import_module(SeesawLoss.__module__))


def test_needed_lvis_results_refuse_an_empty_result_set(tmp_path):
    pytest.importorskip('lvis')
    from lvis import LVIS, LVISEval, LVISResults
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(dict(
        images=[dict(id=1, height=20, width=20, neg_category_ids=[],
                     not_exhaustive_category_ids=[])],
        annotations=[dict(id=1, image_id=1, category_id=1, bbox=[1, 1, 5, 5], area=25,
                          segmentation=[[1, 1, 6, 1, 6, 6]])],
        categories=[dict(id=1, name='a', frequency='f', image_count=1)])))
    gt = LVIS(str(path))
    with pytest.raises(IndexError):
        LVISResults(gt, [])
    params = LVISEval(gt, LVISResults(gt, [dict(image_id=1, category_id=1, bbox=[1, 1, 5, 5],
                                                 score=0.5)]), 'bbox').params
    assert hasattr(params, 'img_ids') and not hasattr(params, 'imgIds')
