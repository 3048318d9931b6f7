"""Every upstream workaround of hce_det, in one place. Each entry names what it fixes.

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


def apply_all() -> None:
    allow_mmengine_checkpoints()
    explain_refused_checkpoints()
    lvis_numpy2_aliases()
