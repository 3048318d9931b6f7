#!/usr/bin/env bash
# Creates (or reuses) the virtual environment with the pinned stack:
#   torch 2.14.1 + torchvision 0.29.1, mmengine 0.10.7, mmcv 2.1.0 WITH compiled ops, mmdet 3.3.0,
#   pycocotools, numpy 2, faster-coco-eval (the COCO/LVIS evaluation engine), hce_det itself
#   (editable), what mmdet's own analysis tools import (seaborn: tools/analysis_tools/
#   analyze_logs.py, psutil: benchmark.py) and the test extra (pytest; lvis, the lvis-api
#   reference the tests cross-check the LVIS evaluation against).
# mmcv is source-only on PyPI and its setup.py forces -std=c++17 while torch 2.14 headers need
# C++20; we build it once (about 20 min on 2 cores) with the flag raised and cache the wheel under
#   ${HCE_DET_CACHE:-~/.cache/hce_det}/wheels/mmcv-<ver>-torch<ver>-cp<py>/
# The environment itself is also cached per machine, keyed by the same versions
#   ${HCE_DET_CACHE}/venvs/py<py>-torch<ver>-mmcv<ver>-mmdet<ver>/
# so a second setup -- also in a fresh clone -- takes seconds. Idempotent. Each checkout's .venv/
# is a small environment over the shared one with hce_det installed from that checkout.
# Env: HCE_VENV (a private venv path instead of the shared cached one), HCE_DET_CACHE,
#      PYTHON (default python3.11), MAX_JOBS (compile jobs for mmcv).
set -euo pipefail
cd "$(dirname "$0")/.."

MMCV_VER=2.1.0; TORCH_VER=2.14.1; TV_VER=0.29.1; MMENGINE_VER=0.10.7; MMDET_VER=3.3.0
LVIS_VER=0.5.3  # test extra (reference engine); np.float: hce_det.compat shims it on numpy 2
FCE_VER=1.8.0   # faster-coco-eval: the evaluation engine; cp311 manylinux wheel, needs numpy only
TOOLS_PKGS="seaborn psutil"  # = pyproject's [tools] extra; in WANT so cached envs get them too
PYTHON=${PYTHON:-python3.11}
CACHE=${HCE_DET_CACHE:-$HOME/.cache/hce_det}

die() { echo "setup_env: ERROR: $*" >&2; exit 1; }
log() { echo "setup_env: $*"; }

command -v "$PYTHON" >/dev/null || die "$PYTHON not found. Install Python 3.11 or set PYTHON=/path/to/python3.11."
pyver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')
[[ $pyver == 311 ]] || die "$PYTHON is Python $pyver; this stack is pinned for Python 3.11 (set PYTHON=...)."

free_gb() { df -Pk "$1" | awk 'NR==2 {print int($4/1048576)}'; }

KEY="py$pyver-torch$TORCH_VER-mmcv$MMCV_VER-mmdet$MMDET_VER"
if [[ -n ${HCE_VENV:-} ]]; then VENV=$HCE_VENV; else VENV="$CACHE/venvs/$KEY"; fi
STAMP="$VENV/.hce_det_stack"
WANT="$KEY mmengine=$MMENGINE_VER tv=$TV_VER lvis=$LVIS_VER fce=$FCE_VER tools=${TOOLS_PKGS// /,}"
# this checkout: .venv is a small environment of its own that sees the shared stack's packages
# (a .pth line runs site.addsitedir on them) and holds hce_det installed from *this* checkout
# (editable). The shared environment itself never holds hce_det: with it there, the last
# checkout to run setup would silently become the hce_det every other checkout imports.
OVERLAY_PTH=hce_det_shared_stack.pth
link_and_install_project() {
  local target=$VENV
  if [[ -z ${HCE_VENV:-} ]]; then
    target=.venv
    if [[ -L .venv ]]; then rm -f .venv  # the old layout: .venv linked to the shared env
    elif [[ -e .venv && ! -f .venv/.hce_det_overlay ]]; then
      die ".venv exists and was not made by this script; remove it, or set HCE_VENV=.venv to use it"
    fi
    if [[ ! -f .venv/.hce_det_overlay || $(cat .venv/.hce_det_overlay) != "$VENV" ]]; then
      rm -rf .venv
      "$VENV/bin/python" -m venv --without-pip .venv || die "cannot create .venv in $(pwd)"
      local site shared
      site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
      shared=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
      echo "import site; site.addsitedir('$shared')" > "$site/$OVERLAY_PTH"
      echo "$VENV" > .venv/.hce_det_overlay
    fi
    # environments made before the overlay held an editable hce_det of some checkout
    if "$VENV/bin/python" -m pip --disable-pip-version-check list 2>/dev/null | grep -q '^hce[-_]det '; then
      "$VENV/bin/python" -m pip --disable-pip-version-check -q uninstall -y hce_det \
        || die "cannot remove hce_det from the shared environment $VENV"
    fi
  fi
  "$target/bin/python" -m pip --disable-pip-version-check -q install --no-deps --no-build-isolation -e . \
    || die "installing hce_det from $(pwd) failed"
  # imported from / (not this checkout's root, which python -c would put on sys.path first)
  local py here=$PWD
  py="$(cd "$target" && pwd)/bin/python"
  (cd / && "$py" -c 'import os, sys, mmcv.ops, mmdet, faster_coco_eval, hce_det; from mmcv.ops import RoIAlign, nms; root = os.path.dirname(os.path.dirname(os.path.realpath(hce_det.__file__))); assert root == os.path.realpath(sys.argv[1]), f"hce_det imports from {root}, not {sys.argv[1]}"' "$here") \
    || die "the stack installed but does not import (or hce_det is not this checkout's); see the traceback above"
  [[ -n ${HCE_VENV:-} ]] || cp "$STAMP" .venv/.hce_det_stack 2>/dev/null || true
}
if [[ -f $STAMP && $(cat "$STAMP") == "$WANT" ]]; then
  link_and_install_project
  log "environment $VENV is up to date ($WANT)"; exit 0
fi

if [[ ! -x $VENV/bin/python ]]; then
  mkdir -p "$(dirname "$VENV")" || die "cannot create $(dirname "$VENV") (set HCE_DET_CACHE)"
  (( $(free_gb "$(dirname "$VENV")") >= 12 )) || die "less than 12 GB free for $VENV (torch alone takes ~6 GB). Free disk space or set HCE_VENV to another disk."
  log "creating $VENV"; "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"; PIP=("$PY" -m pip --disable-pip-version-check -q)

log "installing torch $TORCH_VER / torchvision $TV_VER"
"${PIP[@]}" install "torch==$TORCH_VER" "torchvision==$TV_VER"
# torch pulls the newest setuptools, which lacks pkg_resources (needed by mmcv's build and by
# mmengine's `mmdet::` config lookup): pin it back afterwards.
"${PIP[@]}" install "setuptools<81" wheel ninja

torch_tag=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
WHEELDIR="$CACHE/wheels/mmcv-$MMCV_VER-torch$torch_tag-cp$pyver"
wheel=$(ls "$WHEELDIR"/mmcv-$MMCV_VER-*.whl 2>/dev/null | head -n1 || true)
if [[ -z $wheel ]]; then
  command -v g++ >/dev/null || die "no C++ compiler (g++) found: mmcv's ops must be compiled. Install one (Debian: apt-get install g++)."
  mkdir -p "$WHEELDIR" || die "cannot create cache dir $WHEELDIR (set HCE_DET_CACHE to a writable place)"
  (( $(free_gb "$WHEELDIR") >= 3 )) || die "less than 3 GB free under $WHEELDIR for the mmcv build"
  build=$(mktemp -d)
  log "building mmcv $MMCV_VER with ops for torch $torch_tag (once; ~20 min on 2 cores) in $build"
  "${PIP[@]}" download --no-deps --no-build-isolation --no-binary :all: "mmcv==$MMCV_VER" -d "$build"
  tar -xzf "$build/mmcv-$MMCV_VER.tar.gz" -C "$build"
  # torch >= 2.10 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17.
  sed -i 's/-std=c++17/-std=c++20/g' "$build/mmcv-$MMCV_VER/setup.py"
  # --no-build-isolation: with isolation the build cannot see torch and silently skips the ops.
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "$PY" -m pip wheel --no-deps --no-build-isolation \
      -w "$build/dist" "$build/mmcv-$MMCV_VER" > "$build/build.log" 2>&1 \
      || { tail -n 30 "$build/build.log"; die "mmcv build failed; full log: $build/build.log"; }
  built=$(ls "$build"/dist/mmcv-*.whl)
  "$PY" - "$built" <<'PYEOF' || die "the mmcv wheel has no compiled ops (mmcv/_ext*.so); see $build/build.log"
import sys, zipfile
assert any(n.startswith('mmcv/_ext') and n.endswith('.so') for n in zipfile.ZipFile(sys.argv[1]).namelist())
PYEOF
  cp "$built" "$WHEELDIR/"; wheel="$WHEELDIR/$(basename "$built")"; rm -rf "$build"
  log "cached $wheel"
fi

log "installing mmcv (cached wheel), mmengine, mmdet, faster-coco-eval"
"${PIP[@]}" install "$wheel" "mmengine==$MMENGINE_VER" "numpy>=2" pycocotools pytest
"${PIP[@]}" install "mmdet==$MMDET_VER" "faster-coco-eval==$FCE_VER" "lvis==$LVIS_VER" $TOOLS_PKGS
echo "$WANT" > "$STAMP"
link_and_install_project
log "ready: $VENV ($WANT)"
