"""Benchmarks, run as `python -m benchmarks.<name>` (root needed for network namespaces)."""
