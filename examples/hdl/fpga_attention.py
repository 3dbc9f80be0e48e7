"""Size an attention engine on the two FPGA targets with the synthesized softmax unit's real cost.

    PYTHONPATH=. python examples/hdl/fpga_attention.py
"""

import hw
from simulator.fpga import fpga_attention_estimate

for name in ("zcu102", "ecp5-85k"):
    target = hw.load_target(name)
    for seq in (197, 1024):  # ViT-B/16 tokens (Edge-MoE's workload), and a longer sequence
        est = fpga_attention_estimate(target, seq=seq, heads=12, head_dim=64)
        print(f"{name:9s} seq={seq:5d}: {est.latency_s * 1e3:8.3f} ms, {est.mac_lanes} MAC lanes, "
              f"{est.softmax_units} softmax units, LUTs {est.utilization['luts']:.0%}, "
              f"DSPs {est.utilization['dsps']:.0%}, bottleneck {est.bottleneck}")
