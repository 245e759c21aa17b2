"""Proportions against base R (``reference/proportions.R`` → ``reference/proportions.json``).

Tolerance 1e-9 relative (closed forms and exact distributions; the reference has 15 digits). The
Newcombe interval is also checked against the worked example in Newcombe (1998), Table II, example
(a): 56/70 - 48/80, method 10, 0.0524 to 0.3339 (printed to 4 decimals).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from haven.trials.stats.proportions import chi_square, clopper_pearson, fisher_exact, risk_difference, wilson

REF: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "reference" / "proportions.json").read_text()
)
RTOL = 1e-9


@pytest.mark.parametrize("row", REF["single"])
def test_wilson_matches_prop_test(row: list[float]) -> None:
    x, n, lower, upper = int(row[0]), int(row[1]), row[2], row[3]
    got = wilson(x, n)
    assert got.estimate == x / n
    assert got.lower == pytest.approx(lower, rel=RTOL, abs=1e-15)
    assert got.upper == pytest.approx(upper, rel=RTOL)


@pytest.mark.parametrize("row", REF["single"])
def test_clopper_pearson_matches_binom_test(row: list[float]) -> None:
    x, n, lower, upper = int(row[0]), int(row[1]), row[4], row[5]
    got = clopper_pearson(x, n)
    assert got.lower == pytest.approx(lower, rel=RTOL, abs=1e-15)
    assert got.upper == pytest.approx(upper, rel=RTOL)


@pytest.mark.parametrize("row", REF["difference"])
def test_risk_difference_intervals_match_r(row: list[float]) -> None:
    x1, n1, x2, n2 = (int(v) for v in row[:4])
    wald = risk_difference(x1, n1, x2, n2, method="wald")
    newcombe = risk_difference(x1, n1, x2, n2)
    assert wald.estimate == pytest.approx(x1 / n1 - x2 / n2)
    assert (wald.lower, wald.upper) == pytest.approx((row[4], row[5]), rel=RTOL)
    assert (newcombe.lower, newcombe.upper) == pytest.approx((row[6], row[7]), rel=RTOL)


def test_newcombe_reproduces_the_published_example() -> None:
    got = risk_difference(56, 70, 48, 80)
    assert (round(got.lower, 4), round(got.upper, 4)) == (0.0524, 0.3339)


@pytest.mark.parametrize("row", REF["fisher"])
def test_fisher_exact_matches_fisher_test(row: list[float]) -> None:
    a, b, c, d = (int(v) for v in row[:4])
    got = fisher_exact([[a, b], [c, d]])
    assert got.p == pytest.approx(row[4], rel=RTOL)


def test_fisher_statistic_is_the_sample_odds_ratio() -> None:
    assert fisher_exact([[28, 14], [14, 30]]).statistic == pytest.approx(28 * 30 / (14 * 14))


@pytest.mark.parametrize("case", REF["chi_square"])
def test_chi_square_matches_chisq_test(case: dict[str, Any]) -> None:
    got = chi_square(case["table"])
    assert got.statistic == pytest.approx(case["statistic"], rel=RTOL)
    assert got.df == case["df"]
    assert got.p == pytest.approx(case["p"], rel=RTOL)
    if "yates_statistic" in case:
        yates = chi_square(case["table"], correction=True)
        assert yates.statistic == pytest.approx(case["yates_statistic"], rel=RTOL)
        assert yates.p == pytest.approx(case["yates_p"], rel=RTOL)


def test_impossible_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="0 <= x <= n"):
        wilson(11, 10)
