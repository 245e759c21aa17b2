"""Analysis of covariance: ``outcome ~ arm + covariates`` by ordinary least squares.

``beta = (X'X)^-1 X'y``, ``s^2 = |y - X beta|^2 / (n - p)``, ``Var(beta) = s^2 (X'X)^-1``; inference on
``k' beta`` by Student's t on ``n - p`` degrees of freedom. LS means are ``k' beta`` on the
reference grid of ``design`` (equal weights over the levels of categorical covariates, numeric
covariates at their mean), as SAS ``LSMEANS`` and R ``emmeans``; pairwise contrasts are differences
of LS means, unadjusted for multiplicity.

The dose-response test replaces the arm factor by the numeric dose (e.g. ADaM ``TRTPN``) in the same
model and tests its slope, as in the CDISC pilot study's primary ADAS-Cog analysis.

References
----------
Searle SR, Speed FM, Milliken GA (1980). Population marginal means in the linear model: an
alternative to least squares means. Am Stat 34:216-221.
ICH E9 (1998), section 5.7 (adjustment for covariates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from haven.trials.stats.design import Design, build_design
from haven.trials.stats.inference import Estimate, t_inference

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class AncovaFit:
    """A fitted ANCOVA: coefficients (R's column order), their covariance and residual df."""

    design: Design
    coef: FloatArray
    vcov: FloatArray
    df_resid: int
    sigma: float
    n_obs: int

    def estimate(self, k: FloatArray, *, label: str = "", arm: str = "", level: float = 0.95) -> Estimate:
        """``k' beta`` with SE ``sqrt(k' Var(beta) k)``, t interval and p on ``n - p`` df."""
        return t_inference(
            estimate=float(k @ self.coef),
            se=float(np.sqrt(k @ self.vcov @ k)),
            df=float(self.df_resid),
            label=label,
            arm=arm,
            level=level,
        )

    def summary(self, *, level: float = 0.95) -> dict[str, Any]:
        """The fit, coefficients with SEs, LS means and pairwise contrasts as JSON-ready values."""
        return {
            "model": {
                "n_obs": self.n_obs,
                "df_resid": self.df_resid,
                "sigma": self.sigma,
                "arms": list(self.design.arms),
            },
            "coefficients": [
                {"name": name, "estimate": float(b), "se": float(np.sqrt(self.vcov[i, i]))}
                for i, (name, b) in enumerate(zip(self.design.column_names, self.coef, strict=True))
            ],
            "lsmeans": [asdict(e) for e in self.lsmeans(level=level)],
            "pairwise": [asdict(e) for e in self.pairwise(level=level)],
        }

    def lsmeans(self, *, level: float = 0.95) -> list[Estimate]:
        """The LS mean of each arm, in design order (reference arm first)."""
        return [
            self.estimate(self.design.grid_row(arm=a, visit=None), label=a, arm=a, level=level)
            for a in self.design.arms
        ]

    def pairwise(self, *, level: float = 0.95) -> list[Estimate]:
        """Every later arm minus every earlier arm (``B - A``), unadjusted.

        The order is ``arms[1] - arms[0]``, ``arms[2] - arms[0]``, ..., ``arms[2] - arms[1]``, ...:
        first each arm against the reference, then the others.
        """
        arms = self.design.arms
        pairs = [(i, j) for i in range(len(arms)) for j in range(i + 1, len(arms))]
        return [
            self.estimate(
                self.design.grid_row(arm=arms[j], visit=None) - self.design.grid_row(arm=arms[i], visit=None),
                label=f"{arms[j]} - {arms[i]}",
                arm=arms[j],
                level=level,
            )
            for i, j in pairs
        ]


def _ols(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray, int, float]:
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ValueError("the design matrix is rank deficient (an arm or level without data?)")
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ (x.T @ y)
    resid = y - x @ beta
    df = len(y) - x.shape[1]
    if df <= 0:
        raise ValueError("no residual degrees of freedom")
    s2 = float(resid @ resid) / df
    return beta, s2 * xtx_inv, df, float(np.sqrt(s2))


def ancova_fit(
    data: pd.DataFrame,
    *,
    outcome: str,
    arm: str,
    covariates: Sequence[str] = (),
    reference: str | None = None,
    arm_order: Sequence[str] | None = None,
) -> AncovaFit:
    """Fit ``outcome ~ arm + covariates`` by OLS on the rows without missing values.

    Parameters
    ----------
    data
        One row per subject (e.g. ADQS rows of one parameter at one analysis visit).
    outcome, arm
        Column names.
    covariates
        Numeric columns enter linearly, others as factors (convert a numeric code such as a site
        number to text to make it a factor).
    reference
        The control arm; by default the first in sorted order (or in ``arm_order``).
    arm_order
        The arms in the order of the output (e.g. by dose); by default sorted.
    """
    needed = [outcome, arm, *covariates]
    rows = data.loc[data[needed].notna().all(axis=1), needed]
    design = build_design(
        rows, arm=arm, visit=None, covariates=covariates, reference=reference, arm_order=arm_order
    )
    beta, vcov, df, sigma = _ols(design.x, rows[outcome].to_numpy(dtype=np.float64))
    return AncovaFit(design=design, coef=beta, vcov=vcov, df_resid=df, sigma=sigma, n_obs=len(rows))


def dose_response(
    data: pd.DataFrame, *, outcome: str, dose: str, covariates: Sequence[str] = (), level: float = 0.95
) -> Estimate:
    """The slope of ``outcome`` on the numeric ``dose`` in ``outcome ~ dose + covariates`` (OLS).

    The t test of the slope is the test of a linear dose-response trend (covariates as in
    ``ancova_fit``: numeric ones linear, others factors with the first sorted level as reference).
    """
    needed = [outcome, dose, *covariates]
    rows = data.loc[data[needed].notna().all(axis=1), needed]
    blocks: list[FloatArray] = [np.ones((len(rows), 1)), rows[dose].to_numpy(dtype=np.float64)[:, None]]
    for name in covariates:
        col = rows[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            blocks.append(col.to_numpy(dtype=np.float64)[:, None])
        else:
            text = col.astype(str).to_numpy(dtype=object)
            levels = sorted(set(text))
            blocks.append(np.column_stack([text == lv for lv in levels[1:]]).astype(np.float64))
    x = np.hstack(blocks)
    beta, vcov, df, _ = _ols(x, rows[outcome].to_numpy(dtype=np.float64))
    return t_inference(
        estimate=float(beta[1]),
        se=float(np.sqrt(vcov[1, 1])),
        df=float(df),
        label=f"{dose} slope",
        level=level,
    )
