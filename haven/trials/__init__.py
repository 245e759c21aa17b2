"""Clinical trials: randomisation, blinding and the analysis engine (``stats``, pure numerics)."""
