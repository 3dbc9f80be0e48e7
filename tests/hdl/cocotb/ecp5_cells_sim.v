// Behavioural ECP5 logic cells for simulating softmax_ecp5.v, which instantiates some directly (its exponential
// tables as LUT4s, their 4:1 selections as LUT4 + PFUMX, and copies of their address registers as TRELLIS_FFs,
// so that synthesis neither deepens nor merges them). Written from Lattice FPGA-TN-02032 / the ECP5 data sheet's
// slice description, as nextpnr-ecp5 and Yosys read these cells: LUT4 Z = INIT[{D, C, B, A}]; PFUMX
// Z = C0 ? ALUT : BLUT; TRELLIS_FF used here only as a plain D flip-flop on the rising clock edge with a clock
// enable (CEMUX "CE"), no set or reset (LSR tied low), initial value 0 (GSR "DISABLED").
`timescale 1ns/1ps
module LUT4(input A, B, C, D, output Z);
  parameter [15:0] INIT = 16'h0000;
  assign Z = INIT[{D, C, B, A}];
endmodule

module PFUMX(input ALUT, BLUT, C0, output Z);
  assign Z = C0 ? ALUT : BLUT;
endmodule

module TRELLIS_FF(input CLK, LSR, CE, DI, M, output reg Q);
  parameter GSR = "DISABLED";
  parameter CEMUX = "CE";
  parameter CLKMUX = "CLK";
  parameter LSRMUX = "LSR";
  parameter LSRMODE = "LSR";
  parameter SRMODE = "ASYNC";
  parameter REGSET = "RESET";
  initial Q = 1'b0;
  always @(posedge CLK)
    if (CEMUX == "1" || CE) Q <= DI;
endmodule
