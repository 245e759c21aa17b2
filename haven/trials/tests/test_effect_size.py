"""Cohen's d and Hedges' g against R's effectsize (``reference/effect_size.R`` → ``effect_size.csv``).

On the CDISC pilot's week-24 ADAS-Cog (LOCF, efficacy population): change from baseline, high and low
dose against placebo (between groups), and placebo's week 24 against its baseline (within, paired).
Estimates within 1e-10 relative. effectsize finds the noncentral-t limits with Nelder-Mead
(``optim``, abstol 1e-9 on the tail probabilities) where we solve exactly, so limits within 1e-5
relative.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from haven.trials.stats.effect_size import EffectSize, cohens_d, hedges_g

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
ROWS = [
    row
    for row in csv.DictReader(
        line
        for line in (Path(__file__).resolve().parent / "reference" / "effect_size.csv")
        .read_text()
        .splitlines()
        if not line.startswith("#")
    )
]


@pytest.fixture(scope="module")
def cases() -> dict[tuple[str, str], EffectSize]:
    path = DATA / "cdiscpilot01" / "adam" / "adqsadas.csv.gz"
    if not path.exists():
        pytest.skip("shared/data/cdiscpilot01 is not beside the repository")
    adqs = pd.read_csv(path)
    d = adqs[
        (adqs.PARAMCD == "ACTOT") & (adqs.AVISIT == "Week 24") & (adqs.EFFFL == "Y") & (adqs.ANL01FL == "Y")
    ]

    def chg(arm: str) -> pd.Series[float]:
        return d.loc[d["TRTP"] == arm, "CHG"]

    pbo = d[d["TRTP"] == "Placebo"]
    out: dict[tuple[str, str], EffectSize] = {}
    for case, arm in (("between_high", "Xanomeline High Dose"), ("between_low", "Xanomeline Low Dose")):
        out[(case, "d")] = cohens_d(chg(arm), chg("Placebo"))
        out[(case, "g")] = hedges_g(chg(arm), chg("Placebo"))
    out[("within_placebo", "d")] = cohens_d(pbo.AVAL, pbo.BASE, paired=True)
    out[("within_placebo", "g")] = hedges_g(pbo.AVAL, pbo.BASE, paired=True)
    return out


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['case']}-{r['type']}" for r in ROWS])
def test_effect_size_matches_effectsize(
    cases: dict[tuple[str, str], EffectSize], row: dict[str, str]
) -> None:
    got = cases[(row["case"], row["type"])]
    assert got.estimate == pytest.approx(float(row["estimate"]), rel=1e-10)
    assert got.lower == pytest.approx(float(row["lower"]), rel=1e-5)
    assert got.upper == pytest.approx(float(row["upper"]), rel=1e-5)


def test_paired_samples_must_have_equal_length() -> None:
    with pytest.raises(ValueError, match="same length"):
        cohens_d([1.0, 2.0, 3.0], [1.0, 2.0], paired=True)


def test_a_large_within_group_effect_still_gets_its_interval() -> None:
    # d_z = 4.5 on 3 df (t = 9): SciPy's noncentral t is NaN at points of the far tail the
    # bracketing passes through; the limits must still put t at the 2.5% and 97.5% quantiles.
    from scipy import stats

    improvement = np.array([40.0, 60.0, 40.0, 40.0])
    effect = cohens_d(improvement, np.zeros(4), paired=True)
    assert effect.estimate == pytest.approx(4.5)
    assert effect.lower < effect.estimate < effect.upper
    t, scale = 9.0, 0.5
    assert stats.nct.cdf(t, 3.0, effect.lower / scale) == pytest.approx(0.975, abs=1e-9)
    assert stats.nct.cdf(t, 3.0, effect.upper / scale) == pytest.approx(0.025, abs=1e-9)
