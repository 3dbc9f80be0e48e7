#!/usr/bin/env sh
# Create (or reuse) .venv and install cascade with its test tools.
# torch is pinned to 2.13.0 (the CPU build offered locally); if that exact release is not available
# we fall back to PyTorch's CPU-only index, so that no install ever pulls a multi-GB CUDA build.
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
VPY=.venv/bin/python
stamp=.venv/.cascade-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    $VPY -m pip install -q --upgrade pip >/dev/null
    $VPY -c "import torch" 2>/dev/null || \
        $VPY -m pip install -q torch==2.13.0 || \
        $VPY -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
    $VPY -m pip install -q -e '.[dev]'
    touch "$stamp"
fi
