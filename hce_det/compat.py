"""The index of hce_det's upstream workarounds and of every process-wide effect of
``import hce_det``.

:data:`WORKAROUNDS` lists each workaround with the upstream version it targets (the pinned stack
of ``tools/setup_env.sh``), what it fixes, where the fix lives, its scope and the tests that fail
when it stops being *needed* (the upstream behaviour changed: re-check, then drop the workaround
or move its target) or stops *working*. ``tests/test_compat.py`` checks the index itself: every
target version is the installed one and every named test exists.

Scopes: ``import`` -- applied by ``import hce_det`` (:func:`apply_all`), process-wide;
``scoped`` -- active inside a context manager only; ``opt-in`` -- a class or function that a
config or tool chooses (nothing changes unless it is used).

Process-wide effects of ``import hce_det``, and nothing else (checked in a fresh interpreter by
``tests/test_compat.py::test_import_changes_only_the_indexed_process_state``):

* registry entries: new names in mmdet's/mmengine's registries, each a ``hce_det`` object; no
  upstream entry is replaced;
* the ``import``-scope workarounds below: torch's safe-globals allow-list, mmengine's local-file
  checkpoint loader, and the ``np`` name inside ``lvis.eval`` (when ``lvis`` is installed).

The three import-time workarounds in detail:

1. torch >= 2.6 loads checkpoints with ``weights_only=True``; mmengine 0.10.7 checkpoints carry
   a ``HistoryBuffer`` and numpy arrays/scalars in ``meta['message_hub']``, so ``--resume`` and
   ``tools/test.py CKPT`` fail with "Unsupported global: mmengine.logging.history_buffer.
   HistoryBuffer" (open-mmlab/mmengine#1582). We allow-list exactly those classes with
   ``torch.serialization.add_safe_globals``; the safe loader stays on. ``HistoryBuffer`` also
   pickles its statistics methods as ``getattr(HistoryBuffer, 'min')``: instead of allowing
   ``builtins.getattr`` we map that name to :func:`_history_buffer_getattr`, which resolves only
   HistoryBuffer's registered statistics methods and refuses everything else.
2. ``lvis`` 0.5.3 on numpy 2, see :func:`lvis_numpy2_aliases`.
3. When the safe loader refuses a checkpoint, torch's message advises turning the safe loader off
   (arbitrary code execution). mmengine's local-file checkpoint loader is replaced by
   :func:`load_from_local`, whose :class:`UnsafeCheckpointError` names the refused global and
   how a user who trusts the file allow-lists it; the safe loader stays on (issue 17).
"""
import os.path as osp
import pickle
import re
import types
from typing import NamedTuple, Tuple

import numpy as np
import torch


def _history_buffer_getattr(obj, name):
    """``getattr`` restricted to what mmengine's HistoryBuffer pickles: its statistics methods."""
    from mmengine.logging.history_buffer import HistoryBuffer
    allowed = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) while loading a checkpoint: only HistoryBuffer '
        'statistics methods are allowed (hce_det.compat)')


def checkpoint_safe_globals() -> list:
    """The non-tensor globals an mmengine training checkpoint contains (measured; see tests)."""
    from mmengine.logging.history_buffer import HistoryBuffer
    reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's array-unpickling function
    scalar = np.float64(0).__reduce__()[0]               # numpy's scalar-unpickling function
    dtype_classes = {type(np.dtype(t)) for t in (np.float64, np.float32, np.float16, np.int64,
                                                 np.int32, np.uint8, np.bool_)}
    return [HistoryBuffer, reconstruct, scalar, np.ndarray, np.dtype, *sorted(dtype_classes, key=str),
            (_history_buffer_getattr, 'builtins.getattr')]


def allow_mmengine_checkpoints() -> None:
    """Register :func:`checkpoint_safe_globals` with torch's weights-only unpickler (idempotent)."""
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(checkpoint_safe_globals())


class UnsafeCheckpointError(pickle.UnpicklingError):
    """torch's safe loader refused a checkpoint; the message names the global and how to allow
    it."""


def _refusal_message(filename: str, err: Exception) -> str:
    """Our text for a weights-only refusal: torch's own text is left out, it advises turning the
    safe loader off."""
    detail = str(err)
    m = re.search(r'WeightsUnpickler error: (.*)', detail)
    detail = m.group(1).strip() if m else detail.strip().splitlines()[-1]
    m = re.search(r'GLOBAL ([\w.]+)', detail)
    if m:
        module, _, name = m.group(1).rpartition('.')
        what = f'the global {m.group(1)}, which is not on'
        how = (f'If you trust this file and that class, allow-list it before loading (e.g. in a '
               f'module named in the config\'s custom_imports): `import torch; from {module} '
               f'import {name}; torch.serialization.add_safe_globals([{name}])`.')
    else:
        what = 'content that is not allowed by'
        how = ('If you trust this file, allow-list the class it names with '
               '`torch.serialization.add_safe_globals([...])` before loading.')
    return (f'checkpoint {filename!r} was refused by torch\'s safe loader (weights_only=True): it '
            f'holds {what} hce_det\'s allow-list (hce_det.compat.checkpoint_safe_globals: what '
            f'mmengine training checkpoints hold). {how} The safe loader stays on in hce_det. '
            f'(torch: {detail})')


def load_from_local(filename: str, map_location=None):
    """mmengine's ``load_from_local`` (same name: mmengine logs "Loads checkpoint by local
    backend") with ``weights_only=True`` explicit, raising :class:`UnsafeCheckpointError` (naming
    the refused global and how to allow-list it) instead of torch's message."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise UnsafeCheckpointError(_refusal_message(filename, e)) from None


def explain_refused_checkpoints() -> None:
    """3. Route mmengine's local-file checkpoint loading (``load_from``, ``--resume``,
    ``load_checkpoint``) through :func:`load_from_local`."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local)


class _NumpyWithRemovedAliases(types.ModuleType):
    """Read-only view of numpy that also answers the aliases numpy 1.24 removed
    (``np.float``/``np.int``/``np.object``/``np.bool`` -> the builtins). numpy itself is untouched."""

    _ALIASES = {'float': float, 'int': int, 'object': object, 'bool': bool}

    def __init__(self) -> None:
        super().__init__('numpy', np.__doc__)

    def __getattr__(self, name):
        if hasattr(np, name):
            return getattr(np, name)
        if name in self._ALIASES:
            return self._ALIASES[name]
        raise AttributeError(f"module 'numpy' has no attribute {name!r}")


def lvis_numpy2_aliases() -> bool:
    """2. The PyPI ``lvis`` 0.5.3 (last release, 2020; used by mmdet's ``LVISMetric``) calls
    ``np.float`` in ``LVISEval.accumulate``, which raises AttributeError on numpy >= 1.24/2.x.
    Fixed upstream in lvis-dataset/lvis-api PR #42 (Feb 2024) but never released. We rebind the
    name ``np`` inside ``lvis.eval`` only, to :class:`_NumpyWithRemovedAliases`; numpy and every
    other module keep the real numpy. Idempotent; returns True if the shim is (now) in place,
    False if ``lvis`` is not installed or needs no shim.
    """
    try:
        import lvis.eval as lvis_eval
    except ImportError:
        return False
    if isinstance(getattr(lvis_eval, 'np', None), _NumpyWithRemovedAliases):
        return True
    if getattr(lvis_eval, 'np', None) is not np or hasattr(np, 'float'):
        return False
    lvis_eval.np = _NumpyWithRemovedAliases()
    return True


# ---------------------------------------------------------------------------- the index
class Workaround(NamedTuple):
    """One entry of :data:`WORKAROUNDS`."""
    name: str
    targets: Tuple[str, ...]   # 'package==version' of the upstream code it works around
    problem: str
    fix: str                   # where the fix lives (module.object)
    scope: str                 # 'import' | 'scoped' | 'opt-in'
    tests: Tuple[str, ...]     # 'tests/<file>::<test>': needed-checks first, then works-checks


_COMPAT_TESTS = 'tests/test_compat.py::'
WORKAROUNDS: Tuple[Workaround, ...] = (
    Workaround(
        'checkpoint_safe_globals', ('torch==2.14.1', 'mmengine==0.10.7'),
        'weights-only torch.load refuses the HistoryBuffer / numpy objects of mmengine '
        'checkpoints (--resume, tools/test.py CKPT fail)',
        'hce_det.compat.allow_mmengine_checkpoints', 'import',
        (_COMPAT_TESTS + 'test_needed_mmengine_checkpoints_fail_the_safe_loader_upstream',
         _COMPAT_TESTS + 'test_history_buffer_round_trips_under_weights_only',
         _COMPAT_TESTS + 'test_getattr_is_restricted_to_history_buffer_methods')),
    Workaround(
        'checkpoint_refusal_message', ('torch==2.14.1', 'mmengine==0.10.7'),
        "torch's refusal message advises turning the safe loader off",
        'hce_det.compat.explain_refused_checkpoints', 'import',
        (_COMPAT_TESTS + 'test_refused_checkpoint_names_the_global_and_never_suggests_unsafe'
                         '_loading', )),
    Workaround(
        'lvis_numpy2_aliases', ('lvis==0.5.3', 'numpy==2.4.6'),
        'lvis.eval calls np.float, removed in numpy 1.24',
        'hce_det.compat.lvis_numpy2_aliases', 'import',
        (_COMPAT_TESTS + 'test_needed_lvis_uses_removed_numpy_aliases',
         'tests/evaluation/test_lvis_metric.py::test_numpy2_shim_is_local_to_lvis')),
    Workaround(
        'cpu_bf16_mmcv_ops', ('mmcv==2.1.0', ),
        "mmcv's CPU nms and RoIAlign have no bfloat16 kernel (--amp on CPU)",
        'hce_det.engine.optim_wrappers.fp32_mmcv_ops_for_cpu_bf16', 'scoped',
        (_COMPAT_TESTS + 'test_needed_mmcv_cpu_ops_reject_bfloat16',
         _COMPAT_TESTS + 'test_bf16_op_patch_is_scoped_to_the_wrapper_forward')),
    Workaround(
        'cpu_amp_optim_wrapper', ('mmengine==0.10.7', ),
        'AmpOptimWrapper asserts a GPU/NPU/MLU/MUSA device, so --amp cannot start on CPU',
        'hce_det.engine.optim_wrappers.CpuAmpOptimWrapper', 'opt-in',
        (_COMPAT_TESTS + 'test_needed_amp_optim_wrapper_refuses_cpu',
         _COMPAT_TESTS + 'test_bf16_op_patch_is_scoped_to_the_wrapper_forward',
         'tests/engine/test_optim_wrappers.py::test_bf16_autocast_training_stays_finite')),
    Workaround(
        'cpu_gloo_launcher', ('mmengine==0.10.7', ),
        "the 'pytorch' launcher calls torch.cuda.set_device on a machine without accelerator",
        'hce_det.engine.launch.init_cpu_distributed', 'opt-in',
        (_COMPAT_TESTS + 'test_needed_pytorch_launcher_needs_cuda',
         'tests/reliability/test_distributed.py::test_two_process_cpu_training_matches_one_'
         'process')),
    Workaround(
        'cfg_options_evaluator_list', ('mmengine==0.10.7', ),
        '--cfg-options x_evaluator.arg=v indexes a list of evaluators with a string',
        'hce_det.engine.launch.check_cfg_options', 'opt-in',
        (_COMPAT_TESTS + 'test_needed_cfg_options_cannot_reach_an_evaluator_list',
         'tests/engine/test_launch.py::test_evaluator_option_reaches_a_list_of_evaluators')),
    Workaround(
        'rng_state_on_resume', ('mmengine==0.10.7', ),
        'resume restores weights, optimizer and counters but not the global RNG state',
        'hce_det.engine.hooks.exact_resume.ExactResumeHook', 'opt-in',
        (_COMPAT_TESTS + 'test_needed_runner_keeps_no_rng_state',
         'tests/engine/hooks/test_exact_resume.py::test_resume_is_bitwise_exact')),
    Workaround(
        'multi_branch_empty_branch', ('mmdet==3.3.0', ),
        'MultiBranchDataPreprocessor fails on a branch with no image in the batch',
        'hce_det.models.da.domain_batch.DomainBatchPreprocessor', 'opt-in',
        (_COMPAT_TESTS + 'test_needed_multi_branch_preprocessor_fails_on_an_empty_branch',
         'tests/models/da/test_da_faster_rcnn.py::test_preprocessor_drops_empty_branch')),
    Workaround(
        'eqlv2_custom_cls_channels', ('mmdet==3.3.0', ),
        'EQLV2Loss lacks custom_cls_channels, so the box head applies softmax at test to a '
        'sigmoid-trained classifier',
        'hce_det.models.long_tail.losses.EQLV2FixedLoss', 'opt-in',
        (_COMPAT_TESTS + 'test_needed_eqlv2_loss_lacks_custom_cls_channels',
         'tests/models/long_tail/test_losses.py::test_eqlv2_fix_uses_sigmoid_at_test_where_'
         'upstream_uses_softmax')),
    Workaround(
        'seesaw_sync_counts', ('mmdet==3.3.0', ),
        'SeesawLoss accumulates class counts from the local RoIs only under DDP',
        'hce_det.models.long_tail.losses.SyncSeesawLoss', 'opt-in',
        (_COMPAT_TESTS + 'test_needed_seesaw_counts_are_not_reduced',
         'tests/reliability/test_distributed.py::test_long_tail_statistics_are_reduced_across_'
         'processes')),
    Workaround(
        'lvis_metric_empty_and_subset', ('mmdet==3.3.0', 'lvis==0.5.3'),
        'LVISMetric returns no metrics for an empty result set (LVISResults raises) and '
        'evaluates every image of ann_file (LVISEval ignores params.imgIds)',
        'hce_det.evaluation.lvis_metric.HceLVISMetric', 'opt-in',
        (_COMPAT_TESTS + 'test_needed_lvis_results_refuse_an_empty_result_set',
         'tests/evaluation/test_lvis_metric.py::test_no_detections_give_defined_results',
         'tests/evaluation/test_lvis_metric.py::test_only_processed_images_are_evaluated')),
)
SCOPES = ('import', 'scoped', 'opt-in')


def apply_all() -> None:
    """The ``import``-scope workarounds (``import hce_det`` calls this once)."""
    allow_mmengine_checkpoints()
    explain_refused_checkpoints()
    lvis_numpy2_aliases()
