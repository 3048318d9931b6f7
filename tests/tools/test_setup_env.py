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


def _fake_stack(tmp_path):
    """A fake python3.11 as interpreter *and* environment (pip calls are only logged) and a
    cached mmcv wheel: the script then runs its install path in a second, offline."""
    log = tmp_path / 'calls.log'
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True)
    py = venv / 'bin' / 'python'
    py.write_text('#!/bin/sh\n'
                  f'echo "$*" >> "{log}"\n'
                  'case "$*" in *sys.version_info*) echo 311;; *torch.__version__*) echo 2.14.1;; '
                  'esac\n')
    py.chmod(0o755)
    wheels = tmp_path / 'cache' / 'wheels' / 'mmcv-2.1.0-torch2.14.1-cp311'
    wheels.mkdir(parents=True)
    (wheels / 'mmcv-2.1.0-cp311-cp311-linux_x86_64.whl').write_text('')
    env = {'PYTHON': str(py), 'HCE_VENV': str(venv), 'HCE_DET_CACHE': str(tmp_path / 'cache')}
    return env, log, venv / '.hce_det_stack'


def _installed(log):
    return [w for line in log.read_text().splitlines() if ' install ' in f' {line} '
            for w in line.split()]


def test_mmdet_analysis_tool_deps_installed_and_in_the_stamp(tmp_path):
    # mmdet's analyze_logs.py needs seaborn, benchmark.py psutil (issue 17); they are the
    # pyproject extra `tools`, and the stamp names them, so environments cached before get them
    import tomllib
    with open(os.path.join(ROOT, 'pyproject.toml'), 'rb') as f:
        extra = set(tomllib.load(f)['project']['optional-dependencies']['tools'])
    assert {'seaborn', 'psutil'} <= extra
    env, log, stamp = _fake_stack(tmp_path)
    r = _run(env)
    assert r.returncode == 0, r.stderr
    assert extra <= set(_installed(log))
    want = stamp.read_text().strip()
    tools = [w[len('tools='):] for w in want.split() if w.startswith('tools=')]
    assert len(tools) == 1 and set(tools[0].split(',')) == extra

    log.write_text('')  # up to date: a no-op that installs nothing but hce_det itself
    r = _run(env)
    assert r.returncode == 0 and 'up to date' in r.stdout, r.stderr
    assert not extra & set(_installed(log))

    # an environment stamped before the tools were added is brought up to date (idempotent)
    stamp.write_text(want.split(' tools=')[0] + '\n')
    log.write_text('')
    r = _run(env)
    assert r.returncode == 0, r.stderr
    assert extra <= set(_installed(log)) and stamp.read_text().strip() == want


def test_evaluation_engine_installed_declared_and_in_the_stamp(tmp_path):
    # faster-coco-eval evaluates every config (issue 19): a dependency in pyproject, pinned and
    # installed by the script, named in the stamp (cached environments get it); lvis, needed
    # only by the tests' cross-checks, is in the test extra
    import tomllib
    with open(os.path.join(ROOT, 'pyproject.toml'), 'rb') as f:
        project = tomllib.load(f)['project']
    assert any(d.replace(' ', '').startswith('faster-coco-eval>=1.8.0')
               for d in project['dependencies'])
    assert 'lvis==0.5.3' in project['optional-dependencies']['test']
    assert not any(d.startswith('lvis') for d in project['dependencies'])
    env, log, stamp = _fake_stack(tmp_path)
    r = _run(env)
    assert r.returncode == 0, r.stderr
    assert {'faster-coco-eval==1.8.0', 'lvis==0.5.3'} <= set(_installed(log))
    assert 'fce=1.8.0' in stamp.read_text().split()


@pytest.mark.skipif(not os.path.isfile(os.path.join(ROOT, '.venv', '.hce_det_overlay')),
                    reason='.venv not made by tools/setup_env.sh (e.g. HCE_VENV or a user env)')
def test_checkout_environment_imports_this_checkouts_hce_det(tmp_path):
    # each checkout's .venv sees the shared stack but its own hce_det: setup in another clone
    # must not turn this one into that clone's code (it did while .venv linked the shared env)
    shared = open(os.path.join(ROOT, '.venv', '.hce_det_overlay')).read().strip()
    code = ('import os, hce_det, mmdet, torch; '
            'print(os.path.realpath(hce_det.__file__)); print(os.path.realpath(mmdet.__file__))')
    r = subprocess.run([os.path.join(ROOT, '.venv', 'bin', 'python'), '-c', code],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    ours, stack = r.stdout.split()
    assert ours == os.path.join(os.path.realpath(ROOT), 'hce_det', '__init__.py')
    assert stack.startswith(os.path.realpath(shared))
    r = subprocess.run([os.path.join(shared, 'bin', 'python'), '-c', 'import hce_det'],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode != 0 and 'hce_det' in r.stderr  # the shared environment holds no hce_det
