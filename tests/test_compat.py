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
