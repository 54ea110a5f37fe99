"""Benchmarks with their yardsticks; `./scripts/bench` runs them all and writes BENCHMARKS.md.

See bench/README.md for how a benchmark is written and how the harness finds it.
"""
