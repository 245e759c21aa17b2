"""Bang's and James' blinding indices on worked cases and on a published table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from haven.trials.stats.blinding import JamesIndex, bang_index, james_index, james_index_table


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


# Houweling, Shapiro, Cohen & Kahn (2014), "Blinding strategies in the conduct and reporting of a
# randomized placebo-controlled device trial", Clinical Trials 11:547–552, table 2, investigators'
# guesses (columns: true arm device, sham; rows: guessed device, sham, don't know) — the worked
# example of the BI package for R (1.2.0, Schwartz & Mercaldo), whose printed output (also shown by
# the independent Julia port BlindingIndex.jl) is, to three decimals: James BI 0.896 (SE 0.011,
# 95% CI 0.875 to 0.918); Bang BI device 0.115 (SE 0.018, 0.08 to 0.15), sham 0.022 (SE 0.019).
HOUWELING = np.array([[48, 22], [4, 30], [330, 319]])


def _guesses(table: np.ndarray, arms: list[str]) -> list[tuple[str, str | None]]:
    guesses: list[tuple[str, str | None]] = []
    for guess, row in zip([*arms, None], table, strict=True):
        for arm, count in zip(arms, row, strict=True):
            guesses += [(arm, guess)] * int(count)
    return guesses


def test_james_and_bang_reproduce_the_reference_output_on_a_published_table() -> None:
    james = james_index_table(HOUWELING)
    assert (james.n, james.dont_know) == (753, 649)
    assert round(james.index, 3) == 0.896
    assert round(james.se, 3) == 0.011
    assert (round(james.lower, 3), round(james.upper, 3)) == (0.875, 0.918)
    device, sham = bang_index(_guesses(HOUWELING, ["device", "sham"]), arms=["device", "sham"])
    assert (round(device.index, 3), round(device.se, 3)) == (0.115, 0.018)
    assert (round(sham.index, 3), round(sham.se, 3)) == (0.022, 0.019)
    assert (round(device.lower, 2), round(device.upper, 2)) == (0.08, 0.15)
    # The same answer from individual guesses as from the table.
    assert james_index(_guesses(HOUWELING, ["device", "sham"]), arms=["device", "sham"]) == james


def test_james_index_at_its_landmarks() -> None:
    # Everyone right: complete unblinding (0). Everyone wrong: 1, the index's known caveat.
    assert james_index_table(np.array([[10, 0], [0, 10], [0, 0]])).index == pytest.approx(0.0)
    assert james_index_table(np.array([[0, 10], [10, 0], [0, 0]])).index == pytest.approx(1.0)
    # Guesses independent of the arm: random guessing (0.5). By hand: p = ¼ in each cell, margins
    # ½, A = ½·¼ + ½·¼ = ¼, P_o = P_e = ¼, κ = 0.
    random = james_index_table(np.array([[5, 5], [5, 5], [0, 0]]))
    assert random.index == pytest.approx(0.5)
    # e_gj = ½(r + c) summed over the other arm = ½·(½ + ½)… = ½ for every cell; first term =
    # Σ ¼ (w − ½)² / (4 · ¼²) = (2·¼·¼ + 2·¼·0) / ¼ = ½; second = −(1)(¼) = −¼; V = ¼ / 20.
    assert random.se == pytest.approx(math.sqrt(0.25 / 20))
    # Everyone did not know: complete blinding with no variance (James et al. 1996, p. 1425).
    assert james_index_table(np.array([[0, 0], [0, 0], [7, 9]])) == JamesIndex(16, 16, 1.0, 0.0, 1.0, 1.0)
    # Only one arm answered, and all guessed it: no disagreement is expected by chance, so the
    # kappa is undefined. Everyone guessing one arm across both arms is random guessing.
    assert math.isnan(james_index_table(np.array([[10, 0], [0, 0], [0, 0]])).index)
    assert james_index_table(np.array([[10, 10], [0, 0], [0, 0]])).index == pytest.approx(0.5)


def test_james_index_refuses_a_malformed_table_or_an_unknown_arm() -> None:
    with pytest.raises(ValueError, match="table"):
        james_index_table(np.array([[1, 2], [3, 4]]))
    with pytest.raises(ValueError, match="guess"):
        james_index([("A", "C")], arms=["A", "B"])
    with pytest.raises(ValueError, match="level"):
        james_index([("A", "A")], arms=["A", "B"], level=95)
