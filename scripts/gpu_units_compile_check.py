"""Compile benchmarks/gpu_units.py's CUDA kernels with NVRTC for sm_80, sm_90 and sm_100, no GPU needed, and report
each kernel's registers and spills (ptxas -v): the check docs/gpu.md quotes for the microbenchmarks.

    python -m pip install cuda-bindings==12.* nvidia-cuda-nvrtc-cu12   # in a scratch environment (about 250 MB)
    python scripts/gpu_units_compile_check.py

Not part of the test suite: NVRTC is too large a dependency for a compile check of one file.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_units.py"
ARCHS = ("sm_80", "sm_90", "sm_100")


def kernels_cu() -> str:
    """The CUDA source string of gpu_units.py, read without importing it (it needs the project's dependencies)."""
    return re.search(r'KERNELS_CU = r"""(.*?)"""', SOURCE.read_text(), re.S).group(1)


def main() -> int:
    try:
        from cuda.bindings import nvrtc
    except ImportError:
        print("skipping: cuda.bindings (NVRTC) is not installed; see this script's docstring")
        return 0
    src, failed = kernels_cu().encode(), False
    for arch in ARCHS:
        for mmas in (1, 2, 4):
            _, prog = nvrtc.nvrtcCreateProgram(src, b"gpu_units.cu", 0, [], [])
            opts = [f"--gpu-architecture={arch}".encode(), f"-DMMAS={mmas}".encode(), b"--ptxas-options=-v"]
            (status,) = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)
            _, size = nvrtc.nvrtcGetProgramLogSize(prog)
            log = b" " * size
            nvrtc.nvrtcGetProgramLog(prog, log)
            text = log.decode(errors="replace").replace("\x00", "")
            ok = status == nvrtc.nvrtcResult.NVRTC_SUCCESS
            spills = [line for line in text.splitlines() if "spill" in line and " 0 bytes spill stores" not in line]
            regs = re.findall(r"Compiling entry function '(\w+)'.*?Used (\d+) registers", text, re.S)
            print(f"{arch} MMAS={mmas}: {'ok' if ok else 'FAILED'}; registers "
                  + ", ".join(f"{k} {r}" for k, r in regs) + ("; SPILLS: " + "; ".join(spills) if spills else ""))
            failed |= not ok or bool(spills)
            if not ok:
                print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
