"""Blinding integrity: Bang's blinding index per arm from treatment guesses.

Bang, Ni & Davis (2004), "Assessment of blinding in clinical trials", Controlled Clinical Trials
25:143–156. For one arm, of ``n`` respondents ``c`` guessed their arm correctly, ``i`` guessed the
other arm and the rest did not know:

    BI = (c − i) / n,   Var(BI) = (p_c + p_i − (p_c − p_i)²) / n,   p_c = c/n, p_i = i/n

BI is 1 when everyone guessed right (unblinded), 0 when right and wrong guesses balance (as random
guessing), −1 when everyone guessed the other arm. The interval is the normal approximation.
James' index is not computed here: no reference implementation was available to check it against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class BangIndex:
    arm: str
    n: int
    correct: int
    incorrect: int
    dont_know: int
    index: float
    se: float
    lower: float
    upper: float


def bang_index(
    guesses: Sequence[tuple[str, str | None]], *, arms: Sequence[str], level: float = 0.95
) -> list[BangIndex]:
    """``guesses`` are ``(true arm, guessed arm or None for don't know)``; one result per arm."""
    z = float(stats.norm.ppf(0.5 + level / 2))
    result = []
    for arm in arms:
        rows = [g for a, g in guesses if a == arm]
        n = len(rows)
        correct = sum(1 for g in rows if g == arm)
        incorrect = sum(1 for g in rows if g is not None and g != arm)
        if n == 0:
            result.append(BangIndex(arm, 0, 0, 0, 0, math.nan, math.nan, math.nan, math.nan))
            continue
        pc, pi = correct / n, incorrect / n
        index = pc - pi
        se = math.sqrt(max(pc + pi - (pc - pi) ** 2, 0.0) / n)
        result.append(
            BangIndex(
                arm, n, correct, incorrect, n - correct - incorrect, index, se, index - z * se, index + z * se
            )
        )
    return result
