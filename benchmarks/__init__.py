"""Benchmarks of Shipway: run them with ``python -m benchmarks.<name>`` (see benchmarks/README.md)."""
