#!/usr/bin/env sh
# The main job on an example: sweep FuseMax, FLAT and Unfused over four models and 1K-1M tokens,
# print the table and write results/fusemax-vs-flat/{results.jsonl,table.csv,plot.png}.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
rm -rf results/fusemax-vs-flat
exec .venv/bin/cascade sweep examples/sweeps/fusemax-vs-flat.yaml --out results/fusemax-vs-flat --workers 2 "$@"
