"""ANCOVA, LS means, pairwise contrasts and the dose-response test on the CDISC pilot's ADAS-Cog.

The pilot's primary efficacy analysis: ADAS-Cog (11) change from baseline to week 24, LOCF,
efficacy population (adqsadas: PARAMCD ACTOT, AVISIT "Week 24", EFFFL and ANL01FL "Y"; 79 placebo,
81 low dose, 74 high dose), with pooled site (SITEGR1, a factor) and baseline as covariates.

Reference: ``reference/ancova_adas.json``, written by ``reference/ancova_adas.R`` (R ``lm`` and
``emmeans``; versions inside): coefficients and covariance of ``lm(CHG ~ TRTP + SITEGR1 + BASE)``,
LS means and unadjusted pairwise differences from ``emmeans`` / ``pairs(reverse = TRUE)``, and the
slope test of ``lm(CHG ~ TRTPN + SITEGR1 + BASE)``. Tolerance 1e-8 relative (OLS is exact; the
reference is printed to 15 significant digits).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from haven.trials.stats.ancova import AncovaFit, ancova_fit, dose_response

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
REF: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "reference" / "ancova_adas.json").read_text()
)
ARMS = ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
RTOL = 1e-8


@pytest.fixture(scope="module")
def week24() -> pd.DataFrame:
    path = DATA / "cdiscpilot01" / "adam" / "adqsadas.csv.gz"
    if not path.exists():
        pytest.skip("shared/data/cdiscpilot01 is not beside the repository")
    adqs = pd.read_csv(path)
    rows = adqs[
        (adqs.PARAMCD == "ACTOT") & (adqs.AVISIT == "Week 24") & (adqs.EFFFL == "Y") & (adqs.ANL01FL == "Y")
    ].copy()
    rows["SITEGR1"] = rows["SITEGR1"].astype(str)
    return rows


@pytest.fixture(scope="module")
def fit(week24: pd.DataFrame) -> AncovaFit:
    return ancova_fit(
        week24, outcome="CHG", arm="TRTP", covariates=["SITEGR1", "BASE"], reference="Placebo", arm_order=ARMS
    )


def test_analysis_population_matches(week24: pd.DataFrame) -> None:
    counts = week24.groupby("TRTP").size()
    assert [int(counts[a]) for a in ARMS] == REF["n"] == [79, 81, 74]
    np.testing.assert_allclose(
        [float(week24.loc[week24["TRTP"] == a, "CHG"].mean()) for a in ARMS], REF["chg_mean"], rtol=RTOL
    )


def test_coefficients_and_covariance_match_lm(fit: AncovaFit) -> None:
    assert list(fit.design.column_names) == REF["coef_names"]
    assert fit.df_resid == REF["df_resid"]
    np.testing.assert_allclose(fit.coef, REF["coef"], rtol=RTOL)
    np.testing.assert_allclose(fit.vcov, np.array(REF["vcov"]), rtol=RTOL, atol=1e-14)


def test_lsmeans_match_emmeans(fit: AncovaFit) -> None:
    got = fit.lsmeans()
    assert [e.arm for e in got] == list(ARMS)
    for key in ("estimate", "se", "df", "lower", "upper"):
        np.testing.assert_allclose([getattr(e, key) for e in got], REF["lsmeans"][key], rtol=RTOL)


def test_pairwise_contrasts_match_emmeans(fit: AncovaFit) -> None:
    got = fit.pairwise()
    assert [e.label for e in got] == REF["pairwise"]["contrast"]
    for key in ("estimate", "se", "lower", "upper", "t", "p"):
        np.testing.assert_allclose([getattr(e, key) for e in got], REF["pairwise"][key], rtol=RTOL)


def test_dose_response_slope_matches_lm(week24: pd.DataFrame) -> None:
    got = dose_response(week24, outcome="CHG", dose="TRTPN", covariates=["SITEGR1", "BASE"])
    want = REF["dose_response"]
    assert got.df == want["df"]
    for key in ("estimate", "se", "t", "p"):
        assert getattr(got, key) == pytest.approx(want[key], rel=RTOL)


def test_arm_outside_the_given_order_is_rejected(week24: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="not in the given order"):
        ancova_fit(week24, outcome="CHG", arm="TRTP", arm_order=ARMS[:2])


def test_summary_is_plain_json(fit: AncovaFit) -> None:
    summary = json.loads(json.dumps(fit.summary()))
    assert summary["model"]["df_resid"] == REF["df_resid"]
    assert [p["label"] for p in summary["pairwise"]] == REF["pairwise"]["contrast"]
