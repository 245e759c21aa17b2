"""Kaplan-Meier and log-rank on the CDISC pilot's time to first dermatologic event, against R.

Reference: ``reference/km_adtte.json``, written by ``reference/km_adtte.R`` (R ``survival``: survfit
with Greenwood SEs and log-scale intervals, print.survfit's median and 95 % interval, numbers at risk
from ``summary(fit, times = ...)``, survdiff). Tolerance 1e-9 relative (closed forms); medians and
counts exact. Placebo never reaches 1/2, so its median is missing in both.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from haven.trials.stats.survival import kaplan_meier, logrank

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
REF: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "reference" / "km_adtte.json").read_text()
)
RTOL = 1e-9


@pytest.fixture(scope="module")
def adtte() -> pd.DataFrame:
    path = DATA / "cdiscpilot01" / "adam" / "adtte.csv"
    if not path.exists():
        pytest.skip("shared/data/cdiscpilot01 is not beside the repository")
    data = pd.read_csv(path)
    data = data[data.PARAMCD == "TTDE"].copy()
    data["EVENT"] = 1 - data["CNSR"]
    return data


@pytest.mark.parametrize("arm", list(REF["arms"]))
def test_kaplan_meier_table_matches_survfit(adtte: pd.DataFrame, arm: str) -> None:
    rows = adtte[adtte["TRTA"] == arm]
    got, want = kaplan_meier(rows.AVAL, rows.EVENT), REF["arms"][arm]
    np.testing.assert_array_equal(got.time, want["time"])
    np.testing.assert_array_equal(got.n_risk, want["n_risk"])
    np.testing.assert_array_equal(got.n_event, want["n_event"])
    np.testing.assert_array_equal(got.n_censor, want["n_censor"])
    for key in ("survival", "std_err", "lower", "upper"):
        expected = np.array([np.nan if v is None else v for v in want[key]], dtype=float)
        np.testing.assert_allclose(getattr(got, key), expected, rtol=RTOL)


@pytest.mark.parametrize("arm", list(REF["arms"]))
def test_median_and_interval_match_print_survfit(adtte: pd.DataFrame, arm: str) -> None:
    rows = adtte[adtte["TRTA"] == arm]
    got = kaplan_meier(rows.AVAL, rows.EVENT).median()
    want = [math.nan if v is None else v for v in REF["arms"][arm]["median"]]
    assert got == pytest.approx(want, nan_ok=True)


@pytest.mark.parametrize("arm", list(REF["arms"]))
def test_numbers_at_risk_match(adtte: pd.DataFrame, arm: str) -> None:
    rows = adtte[adtte["TRTA"] == arm]
    assert kaplan_meier(rows.AVAL, rows.EVENT).at_risk(REF["days"]) == REF["arms"][arm]["at_risk"]


def test_logrank_matches_survdiff(adtte: pd.DataFrame) -> None:
    got, want = logrank(adtte.AVAL, adtte.EVENT, list(adtte.TRTA)), REF["logrank"]
    assert list(got.groups) == want["groups"]
    np.testing.assert_allclose(got.observed, want["observed"])
    np.testing.assert_allclose(got.expected, want["expected"], rtol=RTOL)
    assert got.chi_square == pytest.approx(want["chi_square"][0], rel=RTOL)
    assert got.df == 2
    assert got.p == pytest.approx(want["p"][0], rel=1e-6)


def test_median_at_exactly_one_half_is_the_midpoint() -> None:
    # Four subjects, events at 1 and 2, then S = 1/2 from 2 until the event at 4: median (2 + 4) / 2.
    km = kaplan_meier([1, 2, 3, 4], [1, 0, 0, 1])
    assert km.survival.tolist() == [0.75, 0.75, 0.75, 0.0]
    km = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 1])
    assert km.survival[1] == 0.5
    assert km.median()[0] == 3.0


def test_the_log_rank_test_is_undefined_when_the_groups_carry_no_information() -> None:
    import math

    from haven.trials.stats.survival import logrank

    # Everyone at risk has the event at the one event time: the variance is zero.
    test = logrank([5, 5, 5, 5], [1, 1, 1, 1], ["a", "a", "b", "b"])
    assert math.isnan(test.chi_square)
    assert math.isnan(test.p)
    assert list(test.observed) == [2.0, 2.0]
