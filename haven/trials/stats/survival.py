"""Kaplan-Meier estimates, numbers at risk, median survival with its interval, and the log-rank test.

Inputs are ADaM ADTTE-shaped: a time (``AVAL``) and an event indicator (``1 - CNSR``).

References
----------
Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations. JASA 53:457-481.
Greenwood M (1926). The natural duration of cancer. Reports on Public Health and Medical Subjects 33.
Brookmeyer R, Crowley J (1982). A confidence interval for the median survival time. Biometrics
38:29-41.
Mantel N (1966). Evaluation of survival data and two new rank order statistics arising in its
consideration. Cancer Chemother Rep 50:163-170.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
# R's survival package treats survival within this of a quantile as equal to it.
_TOLERANCE = float(np.sqrt(np.finfo(np.float64).eps))


@dataclass(frozen=True)
class KaplanMeier:
    """The estimate at every distinct time (events or censorings), as R ``summary(survfit, censored = TRUE)``.

    ``std_err`` is Greenwood's standard error of ``S(t)``; ``lower``/``upper`` the pointwise interval
    on the log scale (R's default ``conf.type = "log"``): ``S exp(-/+ z sqrt(sum d / (n (n - d))))``,
    capped at 1.
    """

    time: FloatArray
    n_risk: IntArray
    n_event: IntArray
    n_censor: IntArray
    survival: FloatArray
    std_err: FloatArray
    lower: FloatArray
    upper: FloatArray
    n: int
    events: int

    def at_risk(self, times: Sequence[float]) -> list[int]:
        """Numbers at risk at each of ``times``: subjects whose time is at or after it."""
        all_times = np.repeat(self.time, self.n_event + self.n_censor)
        return [int(np.sum(all_times >= t)) for t in times]

    def median(self) -> tuple[float, float, float]:
        """Median survival and its interval, ``(median, lower, upper)``; NaN where a curve stays above 1/2.

        The median is the first time at which ``S(t) <= 1/2``; where ``S`` equals 1/2 exactly over an
        interval, the midpoint of the interval. The interval runs from where the lower confidence
        curve reaches 1/2 to where the upper one does (Brookmeyer & Crowley 1982, on the pointwise
        intervals above), as R ``quantile.survfit``/``print.survfit``.
        """
        return (
            _quantile(self.time, self.survival),
            _quantile(self.time, self.lower),
            _quantile(self.time, self.upper),
        )


def _quantile(time: FloatArray, curve: FloatArray, p: float = 0.5) -> float:
    below = np.flatnonzero(curve <= p + _TOLERANCE)
    if len(below) == 0:
        return float("nan")
    i = int(below[0])
    if abs(curve[i] - p) < _TOLERANCE:
        later = np.flatnonzero(curve < p - _TOLERANCE)
        if len(later) == 0:
            return float("nan")
        return float((time[i] + time[int(later[0])]) / 2.0)
    return float(time[i])


def kaplan_meier(time: npt.ArrayLike, event: npt.ArrayLike, *, level: float = 0.95) -> KaplanMeier:
    """Kaplan-Meier product-limit estimate ``S(t) = prod_{t_j <= t} (1 - d_j / n_j)``.

    Parameters
    ----------
    time
        Follow-up times.
    event
        1 (or True) for an event, 0 for a censoring.
    level
        Confidence level of the pointwise intervals.
    """
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event, dtype=np.float64)
    if t.shape != e.shape or t.ndim != 1 or len(t) == 0:
        raise ValueError("time and event must be two non-empty vectors of the same length")
    if not np.all(np.isin(e, (0.0, 1.0))):
        raise ValueError("event must be 0 or 1")
    distinct, inverse = np.unique(t, return_inverse=True)
    n_event = np.bincount(inverse, weights=e, minlength=len(distinct)).astype(np.int64)
    n_total = np.bincount(inverse, minlength=len(distinct)).astype(np.int64)
    n_censor = n_total - n_event
    n_risk = len(t) - np.concatenate([[0], np.cumsum(n_total)[:-1]]).astype(np.int64)
    surv = np.cumprod(1.0 - n_event / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
    cum = np.cumsum(terms)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    se_log = np.sqrt(cum)
    # Once S reaches 0 (the last subject at risk has the event) its variance is infinite: the SE
    # and the interval are NaN there, as in R.
    with np.errstate(invalid="ignore"):
        lower = np.where(surv > 0, surv * np.exp(-z * se_log), np.nan)
        upper = np.where(surv > 0, np.minimum(1.0, surv * np.exp(z * se_log)), np.nan)
        std_err = surv * se_log
    return KaplanMeier(
        time=distinct,
        n_risk=n_risk,
        n_event=n_event,
        n_censor=n_censor,
        survival=surv,
        std_err=std_err,
        lower=lower,
        upper=upper,
        n=len(t),
        events=int(e.sum()),
    )


@dataclass(frozen=True)
class LogRank:
    """The log-rank test: observed and expected events per group, chi-square on ``k - 1`` df."""

    groups: tuple[str, ...]
    observed: FloatArray
    expected: FloatArray
    chi_square: float
    df: int
    p: float


def logrank(time: npt.ArrayLike, event: npt.ArrayLike, group: Sequence[str]) -> LogRank:
    """Log-rank (Mantel-Haenszel) test of equal survival in ``k`` groups.

    At each event time ``j``: ``E_gj = d_j n_gj / n_j`` and ``V_gh,j = d_j (n_j - d_j) / (n_j - 1)
    (n_gj / n_j) (delta_gh - n_hj / n_j)``; ``X^2 = (O - E)' V^- (O - E)`` over the first ``k - 1``
    groups, on ``k - 1`` df; as R ``survival::survdiff`` (rho = 0). Undefined (NaN) when that
    variance matrix is singular, as when every subject at risk has the event at the only event time.
    """
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event, dtype=np.float64)
    g = np.asarray([str(v) for v in group], dtype=object)
    levels = tuple(sorted(set(g)))
    k = len(levels)
    if k < 2:
        raise ValueError("the log-rank test needs at least two groups")
    event_times = np.unique(t[e == 1])
    observed = np.zeros(k)
    expected = np.zeros(k)
    var = np.zeros((k, k))
    members = [g == lv for lv in levels]
    for time_j in event_times:
        at_risk = t >= time_j
        dies = (t == time_j) & (e == 1)
        n_j = float(at_risk.sum())
        d_j = float(dies.sum())
        n_g = np.array([float((at_risk & m).sum()) for m in members])
        d_g = np.array([float((dies & m).sum()) for m in members])
        observed += d_g
        expected += d_j * n_g / n_j
        if n_j > 1:
            share = n_g / n_j
            var += d_j * (n_j - d_j) / (n_j - 1) * (np.diag(share) - np.outer(share, share))
    diff = (observed - expected)[:-1]
    if np.linalg.matrix_rank(var[:-1, :-1]) < k - 1:
        # No information to compare the groups (e.g. everyone at risk had the event at the one
        # event time): the statistic is undefined.
        return LogRank(
            groups=levels, observed=observed, expected=expected, chi_square=math.nan, df=k - 1, p=math.nan
        )
    chi = float(diff @ np.linalg.solve(var[:-1, :-1], diff))
    return LogRank(
        groups=levels,
        observed=observed,
        expected=expected,
        chi_square=chi,
        df=k - 1,
        p=float(stats.chi2.sf(chi, k - 1)),
    )
