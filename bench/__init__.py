"""Haven benchmarks: ``make bench`` (``python -m bench``) measures the audit chain, token lookups and
the session room over HTTP (device ingest, the last-200 read, alert to board, memory per worker).

Each database runs each module in its own subprocess (``bench.worker``, ``bench.ingest``) against a
throwaway database, so every run gets a fresh ``django.setup()``. Measurement only, except one
correctness check: the chain written by concurrent writers must verify intact. ``bench.report``
writes ``bench/report.md`` with the figures beside their targets.
"""
