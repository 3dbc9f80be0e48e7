"""Evaluation: cost models per target kind, sparse-pattern bounds, sweeps, results, plots and the CLI."""
