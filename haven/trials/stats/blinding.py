"""Blinding integrity from treatment guesses: Bang's index per arm and James' index overall.

Each respondent (participant, therapist, rater) guesses the arm or says they do not know. The
guesses form a table with one column per true arm and one row per guessed arm, plus a row of
"don't know".

**Bang's index** — Bang, Ni & Davis (2004), "Assessment of blinding in clinical trials",
Controlled Clinical Trials 25:143–156. For one arm, of ``n`` respondents ``c`` guessed their arm
correctly, ``i`` guessed another arm and the rest did not know:

    BI = (c − i) / n,   Var(BI) = (p_c + p_i − (p_c − p_i)²) / n,   p_c = c/n, p_i = i/n

BI is 1 when everyone guessed right (unblinded), 0 when right and wrong guesses balance (as random
guessing), −1 when everyone guessed another arm (opposite guessing). The interval is the normal
approximation; Bang's paper prefers reading the one-sided limit that points away from 0. With more
than two arms "another arm" is any other arm.

**James' index** — James, Bloch, Lee, Kraemer & Fuller (1996), "An index for assessing blindness in
a multi-centre clinical trial: disulfiram for alcohol cessation — a VA cooperative study",
Statistics in Medicine 15:1421–1434. One index over all arms, a weighted kappa of disagreement
between guess and truth that also rewards "don't know". With cell proportions ``p_gj`` (guess g,
true arm j) among all ``n`` respondents, ``p_D`` the proportion who did not know, row margins
``r_g = Σ_j p_gj`` and column margins ``c_j = Σ_g p_gj`` (both among those who guessed), and
disagreement weights ``w_gj`` (0 for a correct guess, ½ for a wrong one — James' weights):

    A   = Σ w_gj r_g c_j
    P_o = Σ w_gj p_gj / (1 − p_D),      P_e = A / (1 − p_D)²,      κ_d = (P_o − P_e) / P_e
    BI  = (1 + p_D + (1 − p_D) κ_d) / 2

and its large-sample variance (James et al., 1996, appendix)

    e_gj = Σ_m w_mj r_m + Σ_m w_gm c_m
    V    = [ Σ p_gj (1 − p_D)² ((1 − p_D) w_gj − (1 + κ_d) e_gj)² / (4 A²)
             + p_D (1 − p_D) − (1 − p_D)(1 + κ_d)(p_D + (1 − p_D)(1 + κ_d) / 4) ] / n

BI runs from 0 (everyone guessed right: complete unblinding) through 0.5 (random guessing) to 1
(complete blinding — everyone did not know, or, a caveat of the index, everyone guessed wrong).
Unblinding is claimed when the upper limit of the two-sided interval is below 0.5. When every
respondent said "don't know" the index is 1 with no variance (James et al., p. 1425); when the
kappa's denominator is 0 (e.g. everyone guessed one arm) the index is undefined (NaN).

Both are checked against the published Houweling et al. (2014) investigators' table
(``tests/test_blinding.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: James' disagreement weight for a wrong guess (a correct guess weighs 0, "don't know" 1).
JAMES_WRONG_GUESS_WEIGHT = 0.5


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


@dataclass(frozen=True)
class JamesIndex:
    n: int
    dont_know: int
    index: float
    se: float
    lower: float
    upper: float


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level: a confidence level between 0 and 1, not {level}")
    return float(stats.norm.ppf(0.5 + level / 2))


def bang_index(
    guesses: Sequence[tuple[str, str | None]], *, arms: Sequence[str], level: float = 0.95
) -> list[BangIndex]:
    """``guesses`` are ``(true arm, guessed arm or None for don't know)``; one result per arm."""
    z = _z(level)
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


def guess_table(guesses: Sequence[tuple[str, str | None]], *, arms: Sequence[str]) -> np.ndarray:
    """The ``(k + 1) × k`` count table: rows the guessed arm then "don't know", columns the true arm."""
    position = {arm: i for i, arm in enumerate(arms)}
    table = np.zeros((len(arms) + 1, len(arms)))
    for true_arm, guess in guesses:
        if true_arm not in position:
            raise ValueError(f"arm: {true_arm!r} is not one of the study's arms")
        if guess is not None and guess not in position:
            raise ValueError(f"guess: {guess!r} is not one of the study's arms")
        table[len(arms) if guess is None else position[guess], position[true_arm]] += 1
    return table


def james_index_table(
    table: np.ndarray, *, level: float = 0.95, wrong_weight: float = JAMES_WRONG_GUESS_WEIGHT
) -> JamesIndex:
    """James' index from a ``(k + 1) × k`` count table (see :func:`guess_table` for its layout)."""
    counts = np.asarray(table, dtype=float)
    k = counts.shape[1]
    if counts.shape != (k + 1, k) or k < 2:
        raise ValueError("table: one row per guessed arm plus a 'don't know' row, one column per arm (≥ 2)")
    if (counts < 0).any():
        raise ValueError("table: counts are never negative")
    z = _z(level)
    n = float(counts.sum())
    dont_know = int(counts[k].sum())
    if n == 0:
        return JamesIndex(0, 0, math.nan, math.nan, math.nan, math.nan)
    if dont_know == n:
        return JamesIndex(int(n), dont_know, 1.0, 0.0, 1.0, 1.0)
    p = counts / n
    guessed = p[:k]
    pd = float(p[k].sum())
    rows, cols = guessed.sum(axis=1), guessed.sum(axis=0)
    weights = np.full((k, k), wrong_weight)
    np.fill_diagonal(weights, 0.0)
    expected = float((weights * np.outer(rows, cols)).sum())
    if expected == 0:
        return JamesIndex(int(n), dont_know, math.nan, math.nan, math.nan, math.nan)
    observed = float((weights * guessed).sum()) / (1 - pd)
    chance = expected / (1 - pd) ** 2
    kappa = (observed - chance) / chance
    index = (1 + pd + (1 - pd) * kappa) / 2
    cross = np.add.outer(weights @ cols, weights.T @ rows)
    first = float((guessed * (1 - pd) ** 2 * ((1 - pd) * weights - (1 + kappa) * cross) ** 2).sum()) / (
        4 * expected**2
    )
    second = pd * (1 - pd) - (1 - pd) * (1 + kappa) * (pd + (1 - pd) * (1 + kappa) / 4)
    se = math.sqrt(max(first + second, 0.0) / n)
    return JamesIndex(int(n), dont_know, index, se, index - z * se, index + z * se)


def james_index(
    guesses: Sequence[tuple[str, str | None]], *, arms: Sequence[str], level: float = 0.95
) -> JamesIndex:
    """James' index over all arms from ``(true arm, guessed arm or None for don't know)`` pairs."""
    return james_index_table(guess_table(guesses, arms=arms), level=level)
