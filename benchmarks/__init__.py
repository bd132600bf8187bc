"""Benchmarks, run by hand from the checkout root as `python -m benchmarks.NAME` (see README.md here)."""
