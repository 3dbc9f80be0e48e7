#!/usr/bin/env sh
# Generate, verify and synthesize the two non-linear units (run from the repository root).
set -eu
OUT=${1:-build/hdl_example}
# GELU (Edge-MoE's ReLU-minus-correction), Q7.8 in and out: Verilog + RTLIL, exhaustive check against torch
cascade hdl gelu --method edge-moe --in-format Q7.8 --out-format Q7.8 --out "$OUT/gelu" --verify --json
# Streaming softmax, Q7.8 scores to UQ1.15 probabilities, rows up to 1024, with ECP5 synthesis and timing
cascade hdl softmax --in-format Q7.8 --out-format UQ1.15 --max-len 1024 --out "$OUT/softmax" --verify --synth ecp5 --json
