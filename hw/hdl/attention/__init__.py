"""A small FuseMax-style attention engine (the 1-pass cascade) as Amaranth hardware, with its bit-exact model.

`plan.py` validates the sizes and fixes the formats and the schedule, `model.py` is the bit-exact reference,
`lanes.py` the 2D and 1D datapaths, `engine.py` the component (stream ports, buffers, sequencer), `run.py` the
`cascade hdl attention` flow (export, verification, cycles against `cascade evaluate`, synthesis).
"""
