// Behavioural ECP5 logic cells for simulating softmax_ecp5.v, which instantiates some directly (its exponential
// tables as LUT4s, their 4:1 selections as LUT4 + PFUMX, the dividers' low adders as CCU2C carry chains, and
// copies of their address registers as TRELLIS_FFs, so that synthesis neither deepens nor merges them). Written
// from Lattice FPGA-TN-02032 / the ECP5 data sheet's slice description, as nextpnr-ecp5 and Yosys read these
// cells: LUT4 Z = INIT[{D, C, B, A}]; PFUMX Z = C0 ? ALUT : BLUT; CCU2C (INJECT1 "NO") per half P =
// INIT[{D, C, B, A}], S = P ^ carry in, carry out = P ? carry in : INIT[{B, A}] (Yosys's ccu2c_sim.vh);
// TRELLIS_FF used here only as a plain D flip-flop on the rising clock edge with a clock enable (CEMUX "CE"), no
// set or reset (LSR tied low), initial value 0 (GSR "DISABLED").
`timescale 1ns/1ps
module LUT4(input A, B, C, D, output Z);
  parameter [15:0] INIT = 16'h0000;
  assign Z = INIT[{D, C, B, A}];
endmodule

module PFUMX(input ALUT, BLUT, C0, output Z);
  assign Z = C0 ? ALUT : BLUT;
endmodule

module CCU2C(input CIN, A0, B0, C0, D0, A1, B1, C1, D1, output S0, S1, COUT);
  parameter [15:0] INIT0 = 16'h0000;
  parameter [15:0] INIT1 = 16'h0000;
  parameter INJECT1_0 = "NO";
  parameter INJECT1_1 = "NO";
  wire p0 = INIT0[{D0, C0, B0, A0}], p1 = INIT1[{D1, C1, B1, A1}];
  wire c1 = p0 ? CIN : INIT0[{B0, A0}];
  assign S0 = p0 ^ CIN, S1 = p1 ^ c1;
  assign COUT = p1 ? c1 : INIT1[{B1, A1}];
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
