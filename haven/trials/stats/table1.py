"""Table 1: baseline characteristics by arm, with a test of difference between arms.

For a numeric variable, per arm and overall: n, mean, SD (``n - 1`` denominator), median (the
average of the two middle values when n is even), minimum and maximum; and the one-way ANOVA F test
of equal means across arms (``F = (SSB / (k - 1)) / (SSW / (N - k))``). For a categorical variable:
n (%) of each level per arm and overall (percent of the arm's non-missing values), and Pearson's
chi-square test of independence of arm and level (no continuity correction). Missing values are left
out of every figure. This is the layout of the CDISC pilot's demographic table (CSR Table 14-2.01).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from haven.trials.stats.proportions import chi_square
from haven.trials.stats.summary import Summary, describe

TOTAL = "Total"


@dataclass(frozen=True)
class NumericRow:
    variable: str
    by_arm: dict[str, Summary]  # the arms, then "Total"
    f: float
    p: float


@dataclass(frozen=True)
class CategoricalRow:
    variable: str
    levels: tuple[str, ...]
    counts: dict[str, dict[str, int]]  # arm (and "Total") -> level -> n
    percents: dict[str, dict[str, float]]
    chi_square: float
    df: int | None  # None where the test is undefined
    p: float


def table1(
    data: pd.DataFrame,
    *,
    arm: str,
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
    arm_order: Sequence[str] | None = None,
) -> list[NumericRow | CategoricalRow]:
    """Rows for each numeric variable, then each categorical one (see the module docstring).

    Parameters
    ----------
    data
        One row per subject (e.g. ADSL filtered to a population).
    arm
        The arm column.
    numeric, categorical
        Variables summarised as numbers or as levels (levels sorted).
    arm_order
        The arms in output order; by default sorted.
    """
    arms = list(arm_order) if arm_order is not None else sorted(data[arm].astype(str).unique())
    groups = {a: data[data[arm].astype(str) == a] for a in arms}
    rows: list[NumericRow | CategoricalRow] = []
    for name in numeric:
        by_arm = {a: describe(g[name]) for a, g in groups.items()}
        by_arm[TOTAL] = describe(pd.concat([g[name] for g in groups.values()]))
        f, p = _anova([g[name].dropna().to_numpy(dtype=np.float64) for g in groups.values()])
        rows.append(NumericRow(variable=name, by_arm=by_arm, f=f, p=p))
    for name in categorical:
        values = {a: g[name].dropna().astype(str) for a, g in groups.items()}
        levels = tuple(sorted(set().union(*(set(v) for v in values.values()))))
        counts = {a: {lv: int((v == lv).sum()) for lv in levels} for a, v in values.items()}
        counts[TOTAL] = {lv: sum(counts[a][lv] for a in arms) for lv in levels}
        percents = {
            a: {lv: 100.0 * c[lv] / sum(c.values()) if sum(c.values()) else float("nan") for lv in levels}
            for a, c in counts.items()
        }
        test = chi_square([[counts[a][lv] for lv in levels] for a in arms])
        rows.append(
            CategoricalRow(
                variable=name,
                levels=levels,
                counts=counts,
                percents=percents,
                chi_square=test.statistic,
                df=None if math.isnan(test.df) else int(test.df),
                p=test.p,
            )
        )
    return rows


def _anova(samples: list[np.ndarray]) -> tuple[float, float]:
    """One-way ANOVA over the arms that have values. Undefined (NaN) with fewer than two such arms
    or no within-arm degree of freedom, and when every value within each arm is the same."""
    present = [s for s in samples if len(s)]
    if len(present) < 2 or sum(len(s) for s in present) <= len(present):
        return math.nan, math.nan
    if all(np.ptp(s) == 0 for s in present):
        return math.nan, math.nan
    result = stats.f_oneway(*present)
    return float(result.statistic), float(result.pvalue)
