#!/bin/sh
# Fetch, here, the wheels `scripts/gpu_measure.sh` needs on a lent GPU machine (docs/gpu.md, "Measuring on a
# GPU"): the machine's image has torch, numpy, PyYAML and sympy but not pydantic, and cannot reach PyPI. They go to
# .whl/ (git-ignored locally through .git/info/exclude), for the device tool's `carry`.
set -e
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
PY=${PYTHON:-.venv/bin/python}
versions=$("$PY" -c "
from importlib.metadata import version
print(' '.join(f'{n}=={version(n)}' for n in ('pydantic', 'pydantic-core', 'annotated-types', 'typing-inspection')))")
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl $versions
ls .whl
