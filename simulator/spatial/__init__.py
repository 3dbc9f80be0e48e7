"""The spatial-array cost model (FuseMax / FLAT style accelerators)."""
