"""Realistic, reproducible histories of runs and logs for demos, tests and benchmarks."""
