#!/usr/bin/env sh
# The main job on an example: FuseMax's array-size study (square arrays 16x16 to 512x512, BERT at 256K tokens),
# print the Pareto table and write results/fusemax-array-size/{sweep.sqlite,table.csv,pareto.png,...}.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
rm -rf results/fusemax-array-size
exec .venv/bin/cascade sweep examples/sweeps/fusemax-array-size.yaml --out results/fusemax-array-size --workers 2 "$@"
