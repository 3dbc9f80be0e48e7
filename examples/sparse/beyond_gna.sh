#!/usr/bin/env bash
# Bounds beyond GNA: causal baselines, token predicates inside block masks, per-head masks, radial at 1M tokens.
set -euo pipefail
tmp="${TMPDIR:-/tmp}"
# a causal sliding window of 4,096 at 32K: 7.8x against dense attention (padding-free), about 4.2x (speedup_mean)
# against causal FlashAttention, the default baseline for a causal pattern
cascade bound --shape 32768 --window 4096 --causal 1 --target h100 --json
cascade bound --shape 32768 --window 4096 --causal 1 --target h100 --baseline dense --json
# a MoBA-style causal top-k block mask: the diagonal blocks are causal inside, so their tiles are partial
python - "$tmp" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(0)
blocks = 64
bm = np.tril(rng.random((blocks, blocks)) < 0.1) | np.eye(blocks, dtype=bool)
np.save(f"{sys.argv[1]}/moba.npy", bm)
heads = np.stack([np.tril(rng.random((blocks, blocks)) < p) | np.eye(blocks, dtype=bool) for p in (0.05, 0.1, 0.3)])
np.save(f"{sys.argv[1]}/heads.npy", heads)
PY
cascade bound --shape 32768 --mask "$tmp/moba.npy" --token-mask causal --target b200 --json
# three heads of different density: per-head bounds, the worst head, and a plot of both
cascade bound --shape 32768 --mask "$tmp/heads.npy" --token-mask causal --target b200 --plot "$tmp/heads.png" --json
# radial attention over 64 frames of 16,384 tokens (1M tokens), in seconds
cascade bound --pattern radial --shape 64x16384 --window 1024 --target b200 --json
