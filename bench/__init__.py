"""Benchmarks: figures measured on this machine, written to docs/benchmarks.md."""
