"""The concealed allocation list: stratified permuted blocks of varying size. Pure.

Each stratum's list is drawn from its own random stream, seeded by SHA-256 of the study's secret
seed and the stratum's name, so it is reproducible by whoever holds the seed and by no one else.
A block holds every arm as often as its ratio times the block's multiple, shuffled; the multiple
of each block is drawn from the study's allowed multiples (varying block sizes make the next
allocation hard to guess at the end of a block).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def _stream(seed: str, stratum: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}\x00{stratum}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest, "big")))


def permuted_blocks(
    *, seed: str, stratum: str, arms: Sequence[tuple[str, int]], multiples: Sequence[int], count: int
) -> list[tuple[int, str]]:
    """The first ``count`` (or a little more, to finish a block) allocations of ``stratum``:
    ``(block number, arm code)`` in order."""
    if not arms or any(ratio < 1 for _, ratio in arms):
        raise ValueError("every arm needs a ratio of at least 1")
    if not multiples or any(m < 1 for m in multiples):
        raise ValueError("block multiples must be at least 1")
    rng = _stream(seed, stratum)
    base = [code for code, ratio in arms for _ in range(ratio)]
    result: list[tuple[int, str]] = []
    block = 0
    while len(result) < count:
        block += 1
        multiple = int(rng.choice(np.asarray(list(multiples))))
        items = base * multiple
        order = rng.permutation(len(items))
        result.extend((block, items[i]) for i in order)
    return result
