"""Haven benchmarks: ``make bench`` (``python -m bench``) measures the audit chain and token lookups.

Each database runs in its own subprocess (``bench.worker``) against a throwaway database, so every
run gets a fresh ``django.setup()``. Measurement only, except one correctness check: the chain
written by concurrent writers must verify intact.
"""
