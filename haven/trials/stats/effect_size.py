"""Standardised mean differences: Cohen's d and Hedges' g, between and within groups, with intervals.

Between groups (independent samples)::

    d = (mean_1 - mean_2) / s_p,   s_p^2 = ((n_1 - 1) s_1^2 + (n_2 - 1) s_2^2) / (n_1 + n_2 - 2),

with ``t = d / sqrt(1/n_1 + 1/n_2)`` on ``df = n_1 + n_2 - 2``. Within a group (paired, e.g. baseline
and endpoint of the same subjects), ``d_z = mean(x - y) / sd(x - y)`` with ``t = d_z sqrt(n)`` on
``df = n - 1``.

The interval inverts the noncentral t distribution: the noncentrality parameters ``lambda_lo`` and
``lambda_hi`` with ``P(T_{df, lambda} <= t) = 1 - alpha/2`` and ``alpha/2``, scaled back to ``d``
(Steiger & Fouladi 1997; Cumming & Finch 2001). Hedges' g multiplies the estimate and both limits by
the exact small-sample correction ``J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df - 1)/2))``
(Hedges 1981). These are the definitions of R's effectsize package (``cohens_d``, ``hedges_g``).

References
----------
Cohen J (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed.
Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related estimators.
J Educ Stat 6:107-128.
Steiger JH, Fouladi RT (1997). Noncentrality interval estimation and the evaluation of statistical
models. In: What If There Were No Significance Tests? Erlbaum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, special, stats


@dataclass(frozen=True)
class EffectSize:
    estimate: float
    lower: float
    upper: float
    df: float


def _ncp_limits(t: float, df: float, level: float) -> tuple[float, float]:
    """Noncentrality parameters that put ``t`` at the upper and lower ``(1 - level)/2`` quantiles."""
    alpha = 1.0 - level

    def solve(prob: float) -> float:
        def gap(ncp: float) -> float:
            value = float(stats.nct.cdf(t, df, ncp))
            if math.isnan(value):
                # SciPy's noncentral t answers NaN at some points of its far tails, where the cdf is
                # within rounding of 1 (ncp well below t) or of 0 (well above); the root, at a
                # probability of alpha/2 or 1 - alpha/2, is never there.
                value = 1.0 if ncp < t else 0.0
            return value - prob

        # The cdf falls as ncp rises; widen the bracket until it holds the root.
        width = 10.0 + abs(t)
        while gap(t - width) < 0 or gap(t + width) > 0:
            width *= 2.0
        return float(optimize.brentq(gap, t - width, t + width, xtol=1e-12, rtol=1e-12))

    return solve(1.0 - alpha / 2.0), solve(alpha / 2.0)


def hedges_j(df: float) -> float:
    """Hedges' exact correction ``Gamma(df/2) / (sqrt(df/2) Gamma((df - 1)/2))``."""
    return float(
        np.exp(special.gammaln(df / 2.0) - np.log(np.sqrt(df / 2.0)) - special.gammaln((df - 1.0) / 2.0))
    )


def _samples(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    out = np.asarray(values, dtype=np.float64)
    out = out[~np.isnan(out)]
    if len(out) < 2:
        raise ValueError("need at least two observations")
    return out


def cohens_d(
    x: npt.ArrayLike, y: npt.ArrayLike, *, paired: bool = False, level: float = 0.95, hedges: bool = False
) -> EffectSize:
    """Cohen's d of ``x`` against ``y`` (or Hedges' g with ``hedges=True``); see the module docstring.

    ``paired=True`` gives the within-group ``d_z`` of the differences ``x - y`` (same subjects, same
    order; pairs with a missing value are dropped).
    """
    if paired:
        a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if a.shape != b.shape:
            raise ValueError("paired samples must have the same length")
        diff = _samples(a - b)
        n = len(diff)
        d = float(diff.mean() / diff.std(ddof=1))
        df = float(n - 1)
        scale = float(np.sqrt(1.0 / n))
    else:
        a, b = _samples(x), _samples(y)
        n1, n2 = len(a), len(b)
        df = float(n1 + n2 - 2)
        pooled = np.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / df)
        d = float((a.mean() - b.mean()) / pooled)
        scale = float(np.sqrt(1.0 / n1 + 1.0 / n2))
    lo, hi = _ncp_limits(d / scale, df, level)
    j = hedges_j(df) if hedges else 1.0
    return EffectSize(estimate=d * j, lower=lo * scale * j, upper=hi * scale * j, df=df)


def hedges_g(x: npt.ArrayLike, y: npt.ArrayLike, *, paired: bool = False, level: float = 0.95) -> EffectSize:
    """Hedges' g: Cohen's d and its interval times ``J(df)``."""
    return cohens_d(x, y, paired=paired, level=level, hedges=True)
