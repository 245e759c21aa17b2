"""Descriptive summaries (``stats.summary``), and the CDISC pilot's vital-sign summary against base R.

Reference: ``reference/vitals_advs.csv`` from ``reference/vitals_advs.R``: advs, safety population
(SAFFL) and analysis records (ANL01FL); SYSBP, DIABP and PULSE, each position (ATPT), at Baseline,
Week 24 and End of Treatment, per actual arm (TRTA): n, mean, SD, median, minimum and maximum of
AVAL, and of CHG after baseline. Counts exact; every other figure within 1e-9 relative (1e-12
absolute, for means of changes that are zero).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from haven.trials.management.commands.report import vital_signs
from haven.trials.stats.summary import Summary, describe, describe_by

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
REFERENCE = Path(__file__).resolve().parent / "reference" / "vitals_advs.csv"
FIGURES = ("mean", "sd", "median", "minimum", "maximum")


def test_describe_uses_the_n_minus_1_sd_and_the_middle_pair_for_an_even_median() -> None:
    got = describe([4.0, 1.0, 3.0, 2.0, float("nan")])
    assert got.n == 4
    assert got.mean == 2.5
    assert got.sd == pytest.approx(math.sqrt(5 / 3), rel=1e-15)
    assert (got.median, got.minimum, got.maximum) == (2.5, 1.0, 4.0)


def test_describe_of_one_value_has_no_sd_and_of_none_only_n() -> None:
    one = describe([7.0])
    assert (one.n, one.mean, one.median, one.minimum, one.maximum) == (1, 7.0, 7.0, 7.0, 7.0)
    assert math.isnan(one.sd)
    none = describe([])
    assert none.n == 0
    assert all(math.isnan(getattr(none, f)) for f in FIGURES)


def test_describe_by_follows_the_given_levels_and_keeps_empty_groups() -> None:
    data = pd.DataFrame(
        {
            "arm": ["B", "A", "A", "B", "C"],
            "visit": ["v1", "v1", "v1", "v2", "v1"],
            "x": [1.0, 2.0, 4.0, 5.0, 9.0],
        }
    )
    got = describe_by(
        data, variables=["x"], by=["visit", "arm"], levels={"arm": ["B", "A"], "visit": ["v1", "v2"]}
    )
    assert [tuple(g.group.values()) for g in got] == [("v1", "B"), ("v1", "A"), ("v2", "B"), ("v2", "A")]
    assert [g.variables["x"].n for g in got] == [1, 2, 1, 0]  # arm C is not among the levels
    assert got[1].variables["x"].mean == 3.0


def test_describe_by_without_levels_takes_the_groups_present_in_sorted_order() -> None:
    data = pd.DataFrame({"arm": ["B", "A", "B", None], "x": [1.0, 2.0, 3.0, 4.0], "y": [1.0, None, 2.0, 0.0]})
    got = describe_by(data, variables=["x", "y"], by=["arm"])
    assert [g.group["arm"] for g in got] == ["A", "B"]
    assert (got[0].variables["x"].n, got[0].variables["y"].n) == (1, 0)
    with pytest.raises(ValueError, match="no column z"):
        describe_by(data, variables=["z"], by=["arm"])


@pytest.fixture(scope="module")
def haven_rows() -> list[dict[str, Any]]:
    path = DATA / "cdiscpilot01" / "adam" / "advs.csv.gz"
    if not path.exists():
        pytest.skip("shared/data/cdiscpilot01 is not beside the repository")
    return vital_signs(pd.read_csv(path))


def _reference() -> list[dict[str, str]]:
    lines = [line for line in REFERENCE.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def _cells(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], Summary]:
    cells: dict[tuple[str, ...], Summary] = {}
    for r in rows:
        key = (r["param"], r["position"], r["visit"], r["arm"])
        cells[(*key, "AVAL")] = r["value"]
        if r["change"] is not None:
            cells[(*key, "CHG")] = r["change"]
    return cells


def test_vital_sign_groups_match_r_in_order(haven_rows: list[dict[str, Any]]) -> None:
    ref = _reference()
    assert list(_cells(haven_rows)) == [
        (w["param"], w["position"], w["visit"], w["arm"], w["variable"]) for w in ref
    ]
    # 3 parameters x 3 positions x 3 visits x 3 arms; the change after baseline only.
    assert len(ref) == 81 + 54


def test_vital_sign_summaries_match_r_in_every_cell(haven_rows: list[dict[str, Any]]) -> None:
    cells = _cells(haven_rows)
    for want in _reference():
        key = (want["param"], want["position"], want["visit"], want["arm"], want["variable"])
        got = cells[key]
        assert got.n == int(want["n"]), key
        for figure in FIGURES:
            assert getattr(got, figure) == pytest.approx(float(want[figure]), rel=1e-9, abs=1e-12), (
                key,
                figure,
            )
