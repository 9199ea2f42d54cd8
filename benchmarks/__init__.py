"""Benchmarks of the exact pair search (``python -m benchmarks.run``; ``make bench``)."""
