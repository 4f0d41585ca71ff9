"""Benchmark toolkit: metrics (pure NumPy), runner, scoring, reports and plots."""
