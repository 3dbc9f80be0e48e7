#!/usr/bin/env bash
# Speedup upper bounds of GNA on the HunyuanVideo layout (Hassani et al. 2025, arXiv 2504.16922, worked example).
set -euo pipefail
# sliding-window GNA: 900 KV tiles dense, 275 visited at worst -> 3.27x padding-free; 30 frames in 4-frame query
# tiles are 32 frames of work, so the padding-aware bound (speedup_upper_bound) is 3.07x
cascade bound --shape 30x48x80 --window 18x24x24 --q-tile 4x8x8 --kv-tile 2x8x8
# strided GNA: perfectly block-sparse, 11.1x padding-free = the FLOP-wise bound, 10.42x with padding (NATTEN measures
# 10.4x on B200); end-to-end with 80% of time in attention,
# sparse attention in 90% of the denoising steps
cascade bound --shape 30x48x80 --window 18x24x24 --stride 16x8x8 --q-tile 4x8x8 --kv-tile 2x8x8 \
  --attention-fraction 0.8 --sparse-fraction 0.9 --json
# the same pattern on Hopper tile presets, flat tiling for comparison, and a plot of the tile map
cascade bound --shape 30x48x80 --window 18x24x24 --target h100 --json
cascade bound --shape 30x48x80 --window 18x24x24 --target b200 --tiling flat --json
cascade bound --shape 30x48x80 --window 18x24x24 --q-tile 4x8x8 --kv-tile 2x8x8 --plot "${TMPDIR:-/tmp}/hunyuan_bound.png" --json
# backward (KV-tile-major, NATTEN's shipped backward tiles) and both passes weighed by FLOPs
cascade bound --shape 30x48x80 --window 18x24x24 --stride 16x8x8 --target b200 --pass fwd+bwd --json
