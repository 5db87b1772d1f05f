"""Benchmarks: `make bench` (python -m bench.run). Results go in docs/benchmarks.md."""
