"""Measuring tools that stand apart from the lesson: the benchmark and the ablation (bench.py).

Nothing the notebooks import imports this package; the CLI imports it only for `bench`.
"""
