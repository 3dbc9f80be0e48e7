"""GPU cost model: fused-attention kernels (FlashAttention-2/3, Blackwell FMHA) mapped from cascades onto
the `gpu` targets of `hw/profiles/`. Entry point: `simulator.gpu.evaluate.evaluate_gpu`."""
