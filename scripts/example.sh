#!/usr/bin/env sh
# The main job on an example: analyse every library cascade and verify it against torch.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
exec .venv/bin/cascade analyze --all --verify --sizes M=4096,P=4096,N=4096,E=64,F=64,M0=64,P0=128,T=64,H=16,G=4,R=64,L=512,W=1024 "$@"
