#!/usr/bin/env sh
# The main job on an example: analyse every library cascade and verify it against torch.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
exec .venv/bin/cascade analyze --all --verify "$@"
