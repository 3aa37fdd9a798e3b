"""Benchmarks: ``make bench`` (``python -m bench``). Figures are ratios against
references run in the same process, never absolute-time assertions."""
