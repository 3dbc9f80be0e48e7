"""Mappings: tiling schedules of a cascade on a target, mapspaces and search."""
