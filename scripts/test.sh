#!/usr/bin/env sh
# Run the whole test suite (sets up .venv first if needed).
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
