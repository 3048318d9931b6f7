"""Mixed precision that also runs on CPU.

mmengine 0.10.7's ``AmpOptimWrapper`` asserts a GPU/NPU/MLU/MUSA device in ``__init__``, although
its ``autocast`` supports CPU with bfloat16; so ``--amp`` (``AmpOptimWrapper`` + ``dtype=
'bfloat16'``) cannot start on a CPU-only machine. :class:`CpuAmpOptimWrapper` is
``AmpOptimWrapper`` where an accelerator exists, and on CPU runs the forward pass under bfloat16
autocast without loss scaling (bfloat16 has float32's exponent range, so gradients do not
underflow the way float16 ones do).

mmcv 2.1's CPU kernels of ``nms`` and ``RoIAlign`` have no bfloat16 implementation ("not
implemented for 'BFloat16'"), so on CPU the wrapper's ``optim_context`` (the block of mmengine's
``train_step`` that runs the forward pass) also enters :func:`fp32_mmcv_ops_for_cpu_bf16`: inside
it those two ops compute in float32 when handed CPU bfloat16 tensors (the result is cast back;
float32 inputs are untouched); outside it mmcv is untouched (``hce_det.compat`` indexes both).
"""
import functools
import importlib
from contextlib import contextmanager, nullcontext

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from mmdet.registry import OPTIM_WRAPPERS


def _accelerator_available() -> bool:
    from mmengine.device import (is_cuda_available, is_mlu_available, is_musa_available,
                                 is_npu_available)
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def _is_cpu_bf16(t) -> bool:
    return torch.is_tensor(t) and t.dtype is torch.bfloat16 and t.device.type == 'cpu'


def _fp32_nms(orig):
    @functools.wraps(orig)
    def nms(boxes, scores, *args, **kwargs):
        if _is_cpu_bf16(boxes) or _is_cpu_bf16(scores):
            dets, keep = orig(boxes.float(), scores.float(), *args, **kwargs)
            return dets.to(scores.dtype), keep
        return orig(boxes, scores, *args, **kwargs)
    nms._hce_fp32 = True
    return nms


def _fp32_roi_align(orig):
    @functools.wraps(orig)
    def forward(self, input, rois):
        if _is_cpu_bf16(input) or _is_cpu_bf16(rois):
            return orig(self, input.float(), rois.float()).to(input.dtype)
        return orig(self, input, rois)
    forward._hce_fp32 = True
    return forward


@contextmanager
def fp32_mmcv_ops_for_cpu_bf16():
    """During the block, mmcv ``nms`` (as ``batched_nms`` calls it) and ``RoIAlign`` accept CPU
    bfloat16 tensors by computing in float32 (no effect on other dtypes/devices); the original
    functions are back afterwards, also on error. Re-entrant: a nested block changes nothing."""
    nms_mod = importlib.import_module('mmcv.ops.nms')  # (mmcv.ops.nms the function shadows it)
    from mmcv.ops import RoIAlign
    if getattr(nms_mod.nms, '_hce_fp32', False):        # inside an enclosing block already
        yield
        return
    orig_nms, orig_forward = nms_mod.nms, RoIAlign.forward
    nms_mod.nms = _fp32_nms(orig_nms)  # batched_nms resolves 'nms' in this module at call time
    RoIAlign.forward = _fp32_roi_align(orig_forward)
    try:
        yield
    finally:
        nms_mod.nms, RoIAlign.forward = orig_nms, orig_forward


@OPTIM_WRAPPERS.register_module()
class CpuAmpOptimWrapper(AmpOptimWrapper):
    """``AmpOptimWrapper`` on accelerators; bfloat16 autocast without loss scaling on CPU.

    Args:
        loss_scale, dtype, use_fsdp: as ``AmpOptimWrapper``. On CPU ``dtype`` must be bfloat16
            (the only CPU autocast type; default there) and ``loss_scale`` is ignored.
    """

    def __init__(self, loss_scale='dynamic', dtype=None, use_fsdp: bool = False, **kwargs):
        self.fp32_cpu_ops = not _accelerator_available()
        if not self.fp32_cpu_ops:
            super().__init__(loss_scale=loss_scale, dtype=dtype, use_fsdp=use_fsdp, **kwargs)
            return
        dtype = getattr(torch, dtype) if isinstance(dtype, str) else (dtype or torch.bfloat16)
        if dtype is not torch.bfloat16:
            raise ValueError(f'CpuAmpOptimWrapper on CPU supports dtype=bfloat16 only (CPU '
                             f'autocast), got {dtype}')
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)  # identity
        self.cast_dtype = dtype

    @contextmanager
    def optim_context(self, model):
        """``AmpOptimWrapper.optim_context`` (autocast); on CPU also the float32 mmcv ops."""
        ops = fp32_mmcv_ops_for_cpu_bf16() if self.fp32_cpu_ops else nullcontext()
        with super().optim_context(model), ops:
            yield
