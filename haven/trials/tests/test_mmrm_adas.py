"""The MMRM version of the CDISC pilot's primary analysis (ADAS-Cog change, observed cases), against R.

Rows: adqsadas PARAMCD ACTOT, efficacy population, analysis records at weeks 8, 16 and 24 that are
observed (no LOCF rows); ``CHG ~ TRTP * AVISIT + SITEGR1 + BASE`` (``main``) and the same with a
baseline slope per visit (``+ AVISIT:BASE``, ``base_by_visit``), unstructured covariance, REML. The
rows and the model are those of ``haven report cdisc-pilot`` (``adas_observed_cases``, ``adas_mmrm``),
so the command's ``primary_mmrm`` is the ``main`` fit validated here. Reference:
``reference/mmrm_adas.json`` from ``reference/mmrm_adas.R`` (nlme::gls with corSymm + varIdent;
LS-means grid from emmeans; Satterthwaite df with numDeriv). Tolerances as in
``test_mmrm.py``: 1e-4 absolute on coefficients, LS means and contrasts, 1e-3 relative on the
covariance and df, 1e-4 relative on SEs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from haven.trials.management.commands.report import ADAS_VISITS, ARMS, adas_mmrm, adas_observed_cases
from haven.trials.stats.mmrm import MmrmFit, mmrm_fit

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
REF: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "reference" / "mmrm_adas.json").read_text()
)
VISITS = ADAS_VISITS


MODELS: dict[str, tuple[str, ...]] = {"main": (), "base_by_visit": ("BASE",)}


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    path = DATA / "cdiscpilot01" / "adam" / "adqsadas.csv.gz"
    if not path.exists():
        pytest.skip("shared/data/cdiscpilot01 is not beside the repository")
    # The same rows and model as ``haven report cdisc-pilot``'s primary_mmrm.
    return adas_observed_cases(pd.read_csv(path))


@pytest.fixture(scope="module", params=list(MODELS))
def model(request: pytest.FixtureRequest, rows: pd.DataFrame) -> tuple[MmrmFit, dict[str, Any]]:
    name: str = request.param
    return adas_mmrm(rows, by_visit=MODELS[name]), REF[name]


def test_fit_matches_nlme_gls(model: tuple[MmrmFit, dict[str, Any]]) -> None:
    fit, ref = model
    assert (fit.n_obs, fit.n_subjects) == (ref["n_obs"], ref["n_subjects"])
    assert list(fit.design.column_names) == ref["coef_names"]
    assert fit.reml_loglik == pytest.approx(ref["reml_loglik"], abs=1e-5)
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(fit.covariance, np.array(ref["covariance"]), rtol=1e-3)


def test_lsmeans_match_reference(model: tuple[MmrmFit, dict[str, Any]]) -> None:
    fit, ref = model
    got = fit.lsmeans()
    assert [e.label for e in got] == ref["lsmean_labels"]
    np.testing.assert_allclose([e.estimate for e in got], ref["lsmean"], rtol=0, atol=1e-4)
    np.testing.assert_allclose([e.se for e in got], ref["lsmean_se"], rtol=1e-4)
    np.testing.assert_allclose([e.df for e in got], ref["lsmean_df"], rtol=1e-3)


def test_dose_contrasts_match_reference(model: tuple[MmrmFit, dict[str, Any]]) -> None:
    fit, ref = model
    got = fit.contrasts()
    assert [(e.arm, e.visit) for e in got] == [(a, v) for v in VISITS for a in ARMS[1:]]
    np.testing.assert_allclose([e.estimate for e in got], ref["contrast"], rtol=0, atol=1e-4)
    np.testing.assert_allclose([e.se for e in got], ref["contrast_se"], rtol=1e-4)
    np.testing.assert_allclose([e.df for e in got], ref["contrast_df"], rtol=1e-3)


def test_by_visit_takes_numeric_covariates_of_the_model(rows: pd.DataFrame) -> None:
    common: dict[str, Any] = {"outcome": "CHG", "subject": "USUBJID", "visit": "AVISIT", "arm": "TRTP"}
    with pytest.raises(ValueError, match="categorical"):
        mmrm_fit(rows, covariates=["SITEGR1"], by_visit=["SITEGR1"], **common)
    with pytest.raises(ValueError, match="by_visit"):
        mmrm_fit(rows, covariates=["SITEGR1"], by_visit=["BASE"], **common)


def test_type3_of_a_per_visit_slope_tests_its_average_then_its_differences(
    model: tuple[MmrmFit, dict[str, Any]],
) -> None:
    fit, _ = model
    tests = {t.term: t for t in fit.type3()}
    names = fit.design.column_names
    if "visit:BASE" not in tests:
        assert "AVISITWeek 16:BASE" not in names
        return
    average = np.zeros(len(names))
    average[names.index("BASE")] = 1.0
    average[names.index("AVISITWeek 16:BASE")] = average[names.index("AVISITWeek 24:BASE")] = 1 / 3
    slope = float(average @ fit.coef)
    assert tests["BASE"].f == pytest.approx(slope**2 / float(average @ fit.vcov @ average), rel=1e-10)
    assert tests["visit:BASE"].df1 == 2
