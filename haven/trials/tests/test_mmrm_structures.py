"""MMRM with compound-symmetric and AR(1) covariances (and their heterogeneous variants) against R.

Reference: ``reference/mmrm_fev_structures.json``, written by ``reference/mmrm_fev_structures.R``:
``nlme::gls`` by REML with ``corCompSymm`` (cs), ``corCompSymm`` + ``varIdent`` (csh), ``corAR1`` on
the visit number (ar1) and ``corAR1`` + ``varIdent`` (arh1) for ``FEV1 ~ ARMCD * AVISIT + RACE + SEX``
on fev_data; LS means and ``TRT - PBO`` contrasts on emmeans' grid; Satterthwaite df computed in the
script with numDeriv on the natural parameters (variances, rho); Kenward-Roger in the same natural
parameters (SAS's: cs as common covariance + residual variance, linear; the others with R_ij from
numDeriv second derivatives).

Tolerances as in ``test_mmrm.py``: 1e-4 absolute on coefficients and LS means, 1e-3 relative on
covariances and df, 1e-4 relative on SEs, 1e-5 absolute on the REML log-likelihood.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from haven.trials.stats.covariance import StructureCode
from haven.trials.stats.mmrm import MmrmFit, mmrm_fit

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
REFERENCE = json.loads(
    (Path(__file__).resolve().parent / "reference" / "mmrm_fev_structures.json").read_text()
)
CODES: tuple[StructureCode, ...] = ("cs", "csh", "ar1", "arh1")


@pytest.fixture(scope="module")
def fev() -> pd.DataFrame:
    path = DATA / "mmrm" / "fev_data.csv"
    if not path.exists():
        pytest.skip("shared/data/mmrm/fev_data.csv is not beside the repository")
    return pd.read_csv(path)


@pytest.fixture(scope="module")
def fits(fev: pd.DataFrame) -> dict[str, MmrmFit]:
    return {
        code: mmrm_fit(
            fev,
            outcome="FEV1",
            subject="USUBJID",
            visit="AVISIT",
            arm="ARMCD",
            covariates=["RACE", "SEX"],
            reference="PBO",
            covariance=code,
            kenward_roger=True,
        )
        for code in CODES
    }


@pytest.mark.parametrize("code", CODES)
def test_fit_matches_nlme_gls(fits: dict[str, MmrmFit], code: str) -> None:
    fit, ref = fits[code], REFERENCE[code]
    assert fit.converged
    assert fit.reml_loglik == pytest.approx(ref["reml_loglik"], abs=1e-5)
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(fit.vcov, np.array(ref["vcov"]), rtol=1e-3, atol=1e-8)
    np.testing.assert_allclose(fit.covariance, np.array(ref["covariance"]), rtol=1e-3)


@pytest.mark.parametrize("code", CODES)
def test_lsmeans_and_contrasts_match_reference(fits: dict[str, MmrmFit], code: str) -> None:
    fit, ref = fits[code], REFERENCE[code]
    lsmeans, contrasts = fit.lsmeans(), fit.contrasts()
    ref_any: dict[str, Any] = ref
    np.testing.assert_allclose([e.estimate for e in lsmeans], ref_any["lsmean"], rtol=0, atol=1e-4)
    np.testing.assert_allclose([e.se for e in lsmeans], ref_any["lsmean_se"], rtol=1e-4)
    np.testing.assert_allclose([e.df for e in lsmeans], ref_any["lsmean_df"], rtol=1e-3)
    np.testing.assert_allclose([e.estimate for e in contrasts], ref_any["contrast"], rtol=0, atol=1e-4)
    np.testing.assert_allclose([e.se for e in contrasts], ref_any["contrast_se"], rtol=1e-4)
    np.testing.assert_allclose([e.df for e in contrasts], ref_any["contrast_df"], rtol=1e-3)


def test_unknown_structure_is_rejected(fev: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="unknown covariance structure"):
        mmrm_fit(fev, outcome="FEV1", subject="USUBJID", visit="AVISIT", arm="ARMCD", covariance="toep")  # type: ignore[arg-type]


@pytest.mark.parametrize("code", CODES)
def test_kenward_roger_matches_reference(fits: dict[str, MmrmFit], code: str) -> None:
    fit, ref = fits[code], REFERENCE[code]
    np.testing.assert_allclose(fit.kenward_roger_vcov(), np.array(ref["kr_vcov"]), rtol=1e-3, atol=1e-8)
    np.testing.assert_allclose(
        [e.se for e in fit.contrasts(df="kenward-roger")], ref["kr_contrast_se"], rtol=1e-4
    )
    interaction = next(t for t in fit.type3(df="kenward-roger") if t.term == "arm:visit")
    assert interaction.f == pytest.approx(ref["kr_interaction"][0], rel=1e-4)
    assert interaction.df2 == pytest.approx(ref["kr_interaction"][1], rel=1e-3)
