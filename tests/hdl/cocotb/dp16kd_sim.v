// Behavioural DP16KD for simulating softmax_ecp5.v (Yosys's cells_sim_ecp5.v has only the port list).
// Written from Lattice FPGA-TN-02204 (ECP5 Memory Usage Guide), true dual-port mode, as used by the row buffer:
// port A writes (NORMAL mode, CEA & WEA), port B reads; DATA_WIDTH x depth = 18 x 1024 ... 1 x 16384; the
// address is the top log2(depth) bits of AD[13:0]; data on DI/DO[DATA_WIDTH-1:0]. REGMODE_B = "OUTREG": the
// word read on a CEB edge reaches DOB on the next OCEB edge (two edges); "NOREG": on the CEB edge itself.
// A read of the word being written on the same edge gives X (the device's read-during-write across ports is
// not defined), so a design that relies on it fails the test bench instead of passing by luck.
`timescale 1ns/1ps
module DP16KD(
  input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
  input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
  input CEA, OCEA, CLKA, WEA, RSTA, CSA2, CSA1, CSA0,
  output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
  input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
  input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
  input CEB, OCEB, CLKB, WEB, RSTB, CSB2, CSB1, CSB0,
  output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
  parameter DATA_WIDTH_A = 18;
  parameter DATA_WIDTH_B = 18;
  parameter REGMODE_A = "NOREG";
  parameter REGMODE_B = "NOREG";
  parameter RESETMODE = "SYNC";
  parameter CSDECODE_A = "0b000";
  parameter CSDECODE_B = "0b000";
  parameter WRITEMODE_A = "NORMAL";
  parameter WRITEMODE_B = "NORMAL";
  parameter GSR = "DISABLED";
  localparam AB = DATA_WIDTH_B == 18 ? 10 : DATA_WIDTH_B == 9 ? 11 : DATA_WIDTH_B == 4 ? 12 :
                  DATA_WIDTH_B == 2 ? 13 : 14;
  localparam W = DATA_WIDTH_B;
  wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
  wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};
  wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4,
                     DIA3, DIA2, DIA1, DIA0};
  reg [W-1:0] mem [0:(1 << AB) - 1];
  reg [W-1:0] lat, outreg;
  wire [AB-1:0] wa = ada[13 -: AB], ra = adb[13 -: AB];
  initial begin
    if (DATA_WIDTH_A != DATA_WIDTH_B || WRITEMODE_A != "NORMAL") begin
      $display("dp16kd_sim: unsupported configuration"); $finish;
    end
  end
  always @(posedge CLKA) if (CEA && WEA) mem[wa] <= dia[W-1:0];
  always @(posedge CLKB) if (CEB) lat <= (CEA && WEA && wa == ra) ? {W{1'bx}} : mem[ra];
  always @(posedge CLKB) if (OCEB) outreg <= lat;
  wire [17:0] dob = REGMODE_B == "OUTREG" ? {{(18 - W){1'b0}}, outreg} : {{(18 - W){1'b0}}, lat};
  assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2,
          DOB1, DOB0} = dob;
  assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2,
          DOA1, DOA0} = 18'b0;
endmodule
