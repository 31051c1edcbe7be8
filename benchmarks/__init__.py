"""Benchmarks of ``wecom_kf_async``: run them with ``nox -s bench`` or ``python -m benchmarks``.

They are not tests: each prints a small table of medians, the ratio of the library
against baselines measured in the same run, and a PASS/MISS line against its target.
"""
