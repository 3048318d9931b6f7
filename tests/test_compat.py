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
