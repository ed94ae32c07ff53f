"""Matrix-factorization ranking, baselines and offline evaluation.

Imports nothing else of ours; data crosses in and out as numpy/scipy arrays
and small frozen dataclasses.
"""
