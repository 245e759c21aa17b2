"""Proportions (responder, loss of diagnosis, remission): intervals, differences and tests.

References
----------
Wilson EB (1927). Probable inference, the law of succession, and statistical inference. JASA 22:209-212.
Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in the case of the
binomial. Biometrika 26:404-413.
Newcombe RG (1998). Interval estimation for the difference between independent proportions:
comparison of eleven methods. Stat Med 17:873-890 (method 10).
Agresti A (2013). Categorical Data Analysis, 3rd ed., sections 3.5 (Fisher's exact test) and 2.4
(Pearson's chi-square).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats


@dataclass(frozen=True)
class Interval:
    estimate: float
    lower: float
    upper: float


@dataclass(frozen=True)
class TestResult:
    statistic: float
    df: float
    p: float


def _check(x: int, n: int) -> None:
    if n <= 0 or x < 0 or x > n:
        raise ValueError(f"need 0 <= x <= n and n > 0, got x={x}, n={n}")


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2.0))


def wilson(x: int, n: int, *, level: float = 0.95) -> Interval:
    """Wilson score interval for ``x / n`` (no continuity correction).

    ``(p + z^2/2n -/+ z sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n)`` with ``p = x / n``;
    as R ``prop.test(x, n, correct = FALSE)$conf.int``.
    """
    _check(x, n)
    z = _z(level)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(p, max(0.0, float(centre - half)), min(1.0, float(centre + half)))


def clopper_pearson(x: int, n: int, *, level: float = 0.95) -> Interval:
    """Exact (Clopper-Pearson) interval: beta quantiles ``B(a/2; x, n-x+1)``, ``B(1-a/2; x+1, n-x)``.

    The lower limit is 0 when ``x = 0`` and the upper 1 when ``x = n``; as R ``binom.test``.
    """
    _check(x, n)
    alpha = 1.0 - level
    lower = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2, x, n - x + 1))
    upper = 1.0 if x == n else float(stats.beta.ppf(1 - alpha / 2, x + 1, n - x))
    return Interval(x / n, lower, upper)


def risk_difference(
    x1: int, n1: int, x2: int, n2: int, *, level: float = 0.95, method: str = "newcombe"
) -> Interval:
    """The difference ``p1 - p2`` with a confidence interval.

    ``method="newcombe"`` (default): Newcombe's hybrid score interval (method 10), from the Wilson
    limits ``(l_i, u_i)`` of each proportion: ``d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` to
    ``d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``. ``method="wald"``:
    ``d -/+ z sqrt(p1 (1 - p1) / n1 + p2 (1 - p2) / n2)``, as R ``prop.test(correct = FALSE)``.
    """
    _check(x1, n1)
    _check(x2, n2)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    if method == "wald":
        half = _z(level) * float(np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2))
        return Interval(d, max(-1.0, d - half), min(1.0, d + half))
    if method != "newcombe":
        raise ValueError(f"unknown method {method!r}; use 'newcombe' or 'wald'")
    w1, w2 = wilson(x1, n1, level=level), wilson(x2, n2, level=level)
    lower = d - float(np.sqrt((p1 - w1.lower) ** 2 + (w2.upper - p2) ** 2))
    upper = d + float(np.sqrt((w1.upper - p1) ** 2 + (p2 - w2.lower) ** 2))
    return Interval(d, lower, upper)


def fisher_exact(table: npt.ArrayLike) -> TestResult:
    """Fisher's exact test of a 2 x 2 table, two-sided.

    The p value sums the hypergeometric probabilities of all tables with the same margins that are
    no more probable than the observed one (R ``fisher.test``'s rule, with its relative tolerance
    ``1e-7``); ``statistic`` is the sample odds ratio.
    """
    counts = np.asarray(table, dtype=np.int64)
    if counts.shape != (2, 2) or np.any(counts < 0):
        raise ValueError("need a 2 x 2 table of non-negative counts")
    (a, b), (c, d) = counts.tolist()
    row1, col1, total = a + b, a + c, a + b + c + d
    support = np.arange(max(0, col1 - (total - row1)), min(row1, col1) + 1)
    probs = stats.hypergeom.pmf(support, total, row1, col1)
    observed = float(stats.hypergeom.pmf(a, total, row1, col1))
    p = float(np.sum(probs[probs <= observed * (1 + 1e-7)]))
    odds = (a * d) / (b * c) if b * c else float("inf") if a * d else float("nan")
    return TestResult(statistic=float(odds), df=float("nan"), p=min(1.0, p))


def chi_square(table: npt.ArrayLike, *, correction: bool = False) -> TestResult:
    """Pearson's chi-square test of independence of an ``r x c`` table.

    ``X^2 = sum (O - E)^2 / E`` with ``E = row total x column total / n`` on ``(r - 1)(c - 1)`` df;
    with ``correction`` (2 x 2 only) Yates' ``(|O - E| - 1/2)^2``. As R ``chisq.test``.
    Rows and columns that are all zero (an arm with nobody yet) carry no information and are left
    out; with fewer than two rows or columns left the test is undefined (NaN).
    """
    counts = np.asarray(table, dtype=np.float64)
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if min(counts.shape) < 2:
        return TestResult(statistic=float("nan"), df=float("nan"), p=float("nan"))
    stat, p, df, _ = stats.chi2_contingency(counts, correction=correction)
    return TestResult(statistic=float(stat), df=float(df), p=float(p))
