"""tools/setup_env.sh fails early with a clear message on an unusable machine."""
import os
import subprocess
import time

import pytest

from conftest import ROOT


def _run(env):
    return subprocess.run(['bash', os.path.join(ROOT, 'tools/setup_env.sh')], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=60)


def test_missing_python_is_a_clear_error():
    r = _run({'PYTHON': '/nonexistent/python3.11'})
    assert r.returncode != 0
    assert 'not found' in r.stderr and 'Python 3.11' in r.stderr


def test_wrong_python_version_is_a_clear_error(tmp_path):
    fake = tmp_path / 'python3.11'
    fake.write_text('#!/bin/sh\necho 310\n')
    fake.chmod(0o755)
    r = _run({'PYTHON': str(fake)})
    assert r.returncode != 0 and 'pinned for Python 3.11' in r.stderr


@pytest.mark.skipif(not os.path.isfile(os.path.join(ROOT, '.venv', '.hce_det_stack')),
                    reason='environment not made by tools/setup_env.sh (e.g. a user-provided torch)')
def test_up_to_date_environment_is_a_fast_no_op():
    # the suite itself runs inside a finished environment: rerunning setup must not reinstall
    t0 = time.time()
    r = _run({})
    assert r.returncode == 0, r.stderr
    assert 'up to date' in r.stdout
    assert time.time() - t0 < 60
