"""Simulate the exported Verilog with Icarus Verilog (when `iverilog` is on PATH), so that the export itself is
checked and not only the Python model: the same input vectors, backpressure on `o__ready` every third cycle."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

_TB = """`timescale 1ns/1ps
module tb;
  reg clk = 0, rst = 1;
  reg i__valid = 0; wire i__ready; reg [{wi}-1:0] i__payload = 0;
  wire o__valid; reg o__ready = 0; wire [{wo}-1:0] o__payload;
  reg [{wi}-1:0] vin [0:{n_in}-1];
  integer n_in = 0, n_out = 0, cyc = 0, f;
  {top} dut(.clk(clk), .rst(rst), .i__valid(i__valid), .i__ready(i__ready), .i__payload(i__payload),
            .o__valid(o__valid), .o__ready(o__ready), .o__payload(o__payload));
  always #5 clk = ~clk;
  initial begin
    $readmemh("in.hex", vin);
    f = $fopen("out.hex", "w");
    repeat (2) @(posedge clk);
    #1 rst = 0;
  end
  always @(posedge clk) begin
    if (!rst) begin
      if (o__valid && o__ready) begin $fwrite(f, "%h\\n", o__payload); n_out = n_out + 1; end
      if (i__valid && i__ready) n_in = n_in + 1;
      cyc = cyc + 1;
      if (n_out == {n_out} || cyc > {limit}) begin $fclose(f); $finish; end
    end
    #1;
    i__valid = !rst && (n_in < {n_in});
    i__payload = (n_in < {n_in}) ? vin[n_in] : 0;
    o__ready = (cyc % 3) != 0;
  end
endmodule
"""


def iverilog_available() -> bool:
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None


def run_iverilog(verilog_path: Path, top: str, in_width: int, out_width: int, payloads: list[int], n_out: int,
                 workdir: Path) -> list[int]:
    """Simulate `top` from `verilog_path` on raw `payloads`; return the first `n_out` raw outputs."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    digits = (in_width + 3) // 4
    (workdir / "in.hex").write_text("".join(f"{p:0{digits}x}\n" for p in payloads))
    limit = 4 * (len(payloads) + n_out) + 10_000
    (workdir / "tb.v").write_text(_TB.format(wi=in_width, wo=out_width, n_in=len(payloads), n_out=n_out,
                                             top=top, limit=limit))
    build = subprocess.run(["iverilog", "-g2012", "-o", "sim.vvp", "tb.v", str(Path(verilog_path).resolve())],
                           cwd=workdir, capture_output=True, text=True)
    if build.returncode != 0:
        raise RuntimeError(f"iverilog failed: {build.stderr.strip()[-500:]}")
    run = subprocess.run(["vvp", "-n", "sim.vvp"], cwd=workdir, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"vvp failed: {run.stderr.strip()[-500:]}")
    return [int(line, 16) for line in (workdir / "out.hex").read_text().split()]
