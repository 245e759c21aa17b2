"""Bang's blinding index on worked cases: its extremes, random guessing, and the variance formula."""

from __future__ import annotations

import math

import pytest

from haven.trials.stats.blinding import bang_index


def test_everyone_right_is_unblinded_and_balanced_guessing_is_zero() -> None:
    right: list[tuple[str, str | None]] = [("MDMA", "MDMA")] * 20
    balanced: list[tuple[str, str | None]] = (
        [("PBO", "PBO")] * 5 + [("PBO", "MDMA")] * 5 + [("PBO", None)] * 10
    )
    mdma, pbo = bang_index(right + balanced, arms=["MDMA", "PBO"])
    assert (mdma.index, mdma.se) == (1.0, 0.0)
    assert (pbo.n, pbo.correct, pbo.incorrect, pbo.dont_know, pbo.index) == (20, 5, 5, 10, 0.0)
    # Var = (0.25 + 0.25 − 0) / 20 = 0.025
    assert pbo.se == pytest.approx(math.sqrt(0.025))
    assert pbo.lower == pytest.approx(-1.959964 * math.sqrt(0.025), abs=1e-6)


def test_a_worked_case() -> None:
    # 30 in the arm: 18 right, 6 wrong, 6 don't know: BI = (18 − 6)/30 = 0.4;
    # Var = (0.6 + 0.2 − 0.16)/30 = 0.021333…
    guesses: list[tuple[str, str | None]] = [("A", "A")] * 18 + [("A", "B")] * 6 + [("A", None)] * 6
    (arm,) = bang_index(guesses, arms=["A"])
    assert arm.index == pytest.approx(0.4)
    assert arm.se == pytest.approx(math.sqrt(0.64 / 30))
    (empty,) = bang_index([], arms=["A"])
    assert empty.n == 0
    assert math.isnan(empty.index)
