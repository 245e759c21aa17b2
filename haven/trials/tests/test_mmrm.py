"""MMRM (unstructured, REML, Satterthwaite) against R on the mmrm package's fev_data.

Reference: ``reference/mmrm_fev_us.json``, written by ``reference/mmrm_fev.R`` (R, nlme, emmeans and
numDeriv versions inside the JSON):

- ``coef``, ``vcov``, ``covariance``, ``reml_loglik``: ``nlme::gls(FEV1 ~ ARMCD * AVISIT + RACE + SEX,
  correlation = corSymm(~ as.integer(AVISIT) | USUBJID), weights = varIdent(~ 1 | AVISIT),
  method = "REML")`` on the observed rows;
- LS means and ``TRT - PBO`` contrasts (estimate, SE): ``emmeans(fit, ~ ARMCD | AVISIT)`` and
  ``contrast(., "trt.vs.ctrl")``;
- degrees of freedom, intervals and p values: Satterthwaite computed in the same script with numDeriv
  on a REML likelihood parameterised by the elements of Sigma (emmeans' own gls df re-profile sigma
  and are not the textbook Satterthwaite df; they are stored for information only). The contrast at
  VIS1 (3.774, SE 1.074, df 145.5) is the treatment effect the mmrm package reports for this model.
- Kenward-Roger: the same script, in the elements of Sigma (linear, so R_ij = 0) with the same W:
  the adjusted covariance, LS-mean and contrast SEs and df, and the Type 3 F tests.
- Type 3 F tests: the same script, Fai-Cornelius df on emmeans' consecutive-level hypotheses, with
  ``emmeans::joint_tests`` F ratios (printed to 3 decimals) as an independent check of F.

Tolerances: nlme stops its optimiser slightly short of the REML maximum (its log-likelihood is
1e-7 below ours), which moves its variance parameters by up to ~2e-4 relative. Hence 1e-4 absolute
on coefficients and LS means (their SEs are ~0.5-1.7), 1e-3 relative on covariances, 1e-4 relative
on SEs, 1e-3 relative on df and p values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from haven.trials.stats.mmrm import MmrmFit, mmrm_fit

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
REFERENCE = Path(__file__).resolve().parent / "reference"


@pytest.fixture(scope="module")
def fev() -> pd.DataFrame:
    path = DATA / "mmrm" / "fev_data.csv"
    if not path.exists():
        pytest.skip("shared/data/mmrm/fev_data.csv is not beside the repository")
    return pd.read_csv(path)


@pytest.fixture(scope="module")
def fit(fev: pd.DataFrame) -> MmrmFit:
    return mmrm_fit(
        fev,
        outcome="FEV1",
        subject="USUBJID",
        visit="AVISIT",
        arm="ARMCD",
        covariates=["RACE", "SEX"],
        reference="PBO",
        kenward_roger=True,
    )


@pytest.fixture(scope="module")
def ref() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REFERENCE / "mmrm_fev_us.json").read_text())
    return data


def test_fit_uses_every_observed_row(fit: MmrmFit, ref: dict[str, Any]) -> None:
    assert fit.n_obs == ref["n_obs"] == 537
    assert fit.n_subjects == 197
    assert fit.converged


def test_coefficients_match_nlme_gls(fit: MmrmFit, ref: dict[str, Any]) -> None:
    assert list(fit.design.column_names) == ref["coef_names"]
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=0, atol=1e-4)


def test_coefficient_covariance_matches_nlme_gls(fit: MmrmFit, ref: dict[str, Any]) -> None:
    np.testing.assert_allclose(fit.vcov, np.array(ref["vcov"]), rtol=1e-3, atol=1e-8)


def test_visit_covariance_matches_nlme_gls(fit: MmrmFit, ref: dict[str, Any]) -> None:
    np.testing.assert_allclose(fit.covariance, np.array(ref["covariance"]), rtol=1e-3)


def test_reml_loglik_is_at_least_nlme_s(fit: MmrmFit, ref: dict[str, Any]) -> None:
    assert fit.reml_loglik == pytest.approx(ref["reml_loglik"], abs=1e-5)
    assert fit.reml_loglik >= ref["reml_loglik"] - 1e-9


def test_lsmeans_weight_race_and_sex_levels_equally(fit: MmrmFit, ref: dict[str, Any]) -> None:
    rows = [
        fit.design.grid_row(arm=a, visit=v)
        for a, v in zip(ref["emmeans"]["ARMCD"], ref["emmeans"]["AVISIT"], strict=True)
    ]
    np.testing.assert_allclose(np.array(rows), np.array(ref["emmeans"]["linfct"]), atol=1e-12)


def test_lsmeans_match_emmeans_with_satterthwaite_df(fit: MmrmFit, ref: dict[str, Any]) -> None:
    emm = ref["emmeans"]
    got = fit.lsmeans()
    assert [(e.arm, e.visit) for e in got] == list(zip(emm["ARMCD"], emm["AVISIT"], strict=True))
    np.testing.assert_allclose([e.estimate for e in got], emm["emmean"], rtol=0, atol=1e-4)
    np.testing.assert_allclose([e.se for e in got], emm["SE"], rtol=1e-4)
    np.testing.assert_allclose([e.df for e in got], emm["df"], rtol=1e-3)
    np.testing.assert_allclose([e.lower for e in got], emm["lower"], rtol=0, atol=1e-4)
    np.testing.assert_allclose([e.upper for e in got], emm["upper"], rtol=0, atol=1e-4)


def test_treatment_contrasts_match_reference(fit: MmrmFit, ref: dict[str, Any]) -> None:
    con = ref["contrasts"]
    got = fit.contrasts()
    assert [e.label for e in got] == [f"{c} {v}" for c, v in zip(con["contrast"], con["AVISIT"], strict=True)]
    np.testing.assert_allclose([e.estimate for e in got], con["estimate"], rtol=0, atol=1e-4)
    np.testing.assert_allclose([e.se for e in got], con["SE"], rtol=1e-4)
    np.testing.assert_allclose([e.df for e in got], con["df"], rtol=1e-3)
    np.testing.assert_allclose([e.lower for e in got], con["lower"], rtol=0, atol=1e-4)
    np.testing.assert_allclose([e.upper for e in got], con["upper"], rtol=0, atol=1e-4)
    np.testing.assert_allclose([e.t for e in got], con["t"], rtol=1e-4)
    np.testing.assert_allclose([e.p for e in got], con["p"], rtol=1e-3)


def test_two_rows_at_one_visit_are_rejected(fev: pd.DataFrame) -> None:
    doubled = pd.concat([fev, fev.iloc[[1]]])
    with pytest.raises(ValueError, match="same visit"):
        mmrm_fit(doubled, outcome="FEV1", subject="USUBJID", visit="AVISIT", arm="ARMCD")


def test_an_arm_without_data_at_a_visit_is_rejected(fev: pd.DataFrame) -> None:
    gap = fev[~((fev.ARMCD == "TRT") & (fev.AVISIT == "VIS4"))]
    with pytest.raises(ValueError, match="rank deficient"):
        mmrm_fit(gap, outcome="FEV1", subject="USUBJID", visit="AVISIT", arm="ARMCD")


def test_numeric_covariate_enters_lsmeans_at_its_mean(fev: pd.DataFrame) -> None:
    fit = mmrm_fit(
        fev,
        outcome="FEV1",
        subject="USUBJID",
        visit="AVISIT",
        arm="ARMCD",
        covariates=["FEV1_BL"],
        reference="PBO",
    )
    row = fit.design.grid_row(arm="PBO", visit="VIS1")
    observed = fev[fev.FEV1.notna()]
    assert row[fit.design.column_names.index("FEV1_BL")] == pytest.approx(observed.FEV1_BL.mean())


def test_type3_tests_match_reference(fit: MmrmFit, ref: dict[str, Any]) -> None:
    got = {t.term: t for t in fit.type3()}
    names = {"arm": "ARMCD", "visit": "AVISIT", "RACE": "RACE", "SEX": "SEX", "arm:visit": "ARMCD:AVISIT"}
    assert list(got) == list(names)
    for term, r_term in names.items():
        want = ref["type3"][r_term]
        assert got[term].df1 == want["df1"]
        assert got[term].f == pytest.approx(want["F"], rel=1e-4)
        assert got[term].f == pytest.approx(want["emmeans_F"], abs=1e-3)
        assert got[term].df2 == pytest.approx(want["df2"], rel=1e-3)
        assert got[term].p == pytest.approx(want["p"], rel=1e-3)


def test_single_row_f_test_is_the_squared_t_test(fit: MmrmFit) -> None:
    contrast = fit.contrasts()[0]
    k = fit.design.grid_row(arm="TRT", visit="VIS1") - fit.design.grid_row(arm="PBO", visit="VIS1")
    test = fit.f_test(k[None, :])
    assert test.f == pytest.approx(contrast.t**2, rel=1e-12)
    assert test.df2 == pytest.approx(contrast.df, rel=1e-12)
    assert test.p == pytest.approx(contrast.p, rel=1e-9)


def test_kenward_roger_covariance_matches_reference(fit: MmrmFit, ref: dict[str, Any]) -> None:
    kr = ref["kenward_roger"]
    np.testing.assert_allclose(fit.kenward_roger_vcov(), np.array(kr["vcov"]), rtol=1e-3, atol=1e-8)
    lsmeans, contrasts = fit.lsmeans(df="kenward-roger"), fit.contrasts(df="kenward-roger")
    np.testing.assert_allclose([e.se for e in lsmeans], kr["lsmean_se"], rtol=1e-4)
    np.testing.assert_allclose([e.df for e in lsmeans], kr["lsmean_df"], rtol=1e-3)
    np.testing.assert_allclose([e.se for e in contrasts], kr["contrast_se"], rtol=1e-4)
    np.testing.assert_allclose([e.df for e in contrasts], kr["contrast_df"], rtol=1e-3)


def test_kenward_roger_inflates_the_standard_errors(fit: MmrmFit) -> None:
    plain, adjusted = fit.contrasts(), fit.contrasts(df="kenward-roger")
    assert all(a.se > p.se for p, a in zip(plain, adjusted, strict=True))
    # For one contrast the Kenward-Roger df are the Satterthwaite df (lambda = 1, m = 2 / A2).
    np.testing.assert_allclose([a.df for a in adjusted], [p.df for p in plain], rtol=1e-9)


def test_kenward_roger_type3_tests_match_reference(fit: MmrmFit, ref: dict[str, Any]) -> None:
    got = {t.term: t for t in fit.type3(df="kenward-roger")}
    names = {"arm": "ARMCD", "visit": "AVISIT", "RACE": "RACE", "SEX": "SEX", "arm:visit": "ARMCD:AVISIT"}
    for term, r_term in names.items():
        want = ref["kenward_roger"]["type3"][r_term]
        assert got[term].df1 == want["df1"]
        assert got[term].f == pytest.approx(want["F"], rel=1e-4)
        assert got[term].df2 == pytest.approx(want["df2"], rel=1e-3)
        assert got[term].p == pytest.approx(want["p"], rel=1e-3)


def test_kenward_roger_needs_its_terms(fev: pd.DataFrame) -> None:
    plain = mmrm_fit(fev, outcome="FEV1", subject="USUBJID", visit="AVISIT", arm="ARMCD")
    with pytest.raises(ValueError, match="kenward_roger=True"):
        plain.contrasts(df="kenward-roger")


def test_complete_data_reduce_to_the_multivariate_linear_model() -> None:
    # With every visit observed and a mean per arm and visit, GLS is OLS (the cell means) and the
    # REML covariance is the residual cross-product over n - (number of arms) (Anderson 2003, 8.2).
    rng = np.random.default_rng(7)
    n, visits = 60, ("V1", "V2", "V3")
    arm = np.where(np.arange(n) < 30, "A", "B")
    y = rng.multivariate_normal([0.0, 1.0, 2.0], [[4.0, 2.0, 1.0], [2.0, 5.0, 2.5], [1.0, 2.5, 6.0]], n)
    data = pd.DataFrame(
        {
            "id": np.repeat(np.arange(n), 3),
            "visit": np.tile(visits, n),
            "arm": np.repeat(arm, 3),
            "y": y.ravel(),
        }
    )
    fit = mmrm_fit(data, outcome="y", subject="id", visit="visit", arm="arm")
    means = {a: y[arm == a].mean(axis=0) for a in ("A", "B")}
    got = {(e.arm, e.visit): e.estimate for e in fit.lsmeans()}
    for a in ("A", "B"):
        for j, v in enumerate(visits):
            assert got[(a, v)] == pytest.approx(means[a][j], abs=1e-9)
    resid = np.vstack([y[arm == a] - means[a] for a in ("A", "B")])
    np.testing.assert_allclose(fit.covariance, resid.T @ resid / (n - 2), rtol=1e-7)


def test_summary_is_plain_json(fit: MmrmFit) -> None:
    summary = json.loads(json.dumps(fit.summary(df="kenward-roger")))
    assert summary["model"]["n_obs"] == 537
    assert [c["label"] for c in summary["contrasts"]] == [e.label for e in fit.contrasts()]
    assert summary["contrasts"][0]["se"] == pytest.approx(fit.contrasts(df="kenward-roger")[0].se)
    assert [t["term"] for t in summary["type3"]] == ["arm", "visit", "RACE", "SEX", "arm:visit"]
