"""Inference on one linear combination of coefficients, shared by the models."""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class Estimate:
    """One linear combination ``k' beta`` with its inference.

    ``lower``/``upper`` is the two-sided ``level`` confidence interval
    ``estimate -/+ t(1 - alpha/2, df) * se``; ``t = estimate / se``; ``p`` the two-sided p value.
    """

    label: str
    arm: str
    visit: str | None
    estimate: float
    se: float
    df: float
    lower: float
    upper: float
    t: float
    p: float


def t_inference(
    *,
    estimate: float,
    se: float,
    df: float,
    label: str = "",
    arm: str = "",
    visit: str | None = None,
    level: float = 0.95,
) -> Estimate:
    """Interval ``estimate -/+ t_{df}(1/2 + level/2) se``, ``t = estimate / se``, ``p = 2 P(T_df > |t|)``."""
    q = float(stats.t.ppf(0.5 + level / 2.0, df))
    t = estimate / se
    p = float(2.0 * stats.t.sf(abs(t), df))
    return Estimate(label, arm, visit, estimate, se, df, estimate - q * se, estimate + q * se, t, p)
