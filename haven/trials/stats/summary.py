"""Descriptive summaries of a numeric variable, overall or by group.

For the ``n`` non-missing values ``x_1 .. x_n`` of a group (missing values are left out of every
figure):

- ``n``;
- mean ``xbar = sum(x_i) / n``;
- standard deviation with the ``n - 1`` denominator, ``s = sqrt(sum((x_i - xbar)^2) / (n - 1))``,
  as R's ``sd`` and SAS PROC MEANS' default;
- median: the middle value of the sorted values, the average of the two middle ones when ``n`` is
  even (R's ``median``, SAS's default);
- minimum and maximum.

With ``n = 0`` every figure but ``n`` is NaN; with ``n = 1`` the SD is NaN (undefined) and the rest
is the value itself. This is the layout of the summary tables of a clinical study report (CDISC pilot
CSR Table 14-2.01 for baseline characteristics, Tables 14-7.01 ff. for vital signs).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Summary:
    """n, mean, SD (``n - 1``), median, minimum and maximum of the non-missing values."""

    n: int
    mean: float
    sd: float
    median: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class GroupSummary:
    """The summaries of one group: its value of each ``by`` column, and each variable's ``Summary``."""

    group: dict[str, Any]
    variables: dict[str, Summary]


def describe(values: pd.Series[float] | Sequence[float]) -> Summary:
    """``Summary`` of the non-missing values (formulas in the module docstring)."""
    x = pd.Series(values, dtype=np.float64).dropna().to_numpy(dtype=np.float64)
    if len(x) == 0:
        nan = float("nan")
        return Summary(0, nan, nan, nan, nan, nan)
    sd = float(x.std(ddof=1)) if len(x) > 1 else float("nan")
    return Summary(len(x), float(x.mean()), sd, float(np.median(x)), float(x.min()), float(x.max()))


def describe_by(
    data: pd.DataFrame,
    *,
    variables: Sequence[str],
    by: Sequence[str],
    levels: Mapping[str, Sequence[Any]] | None = None,
) -> list[GroupSummary]:
    """``describe`` each of ``variables`` within each group of the ``by`` columns.

    Parameters
    ----------
    data
        One row per observation (e.g. one analysis value per subject, parameter and visit).
    variables
        Numeric columns to summarise; each is summarised over its own non-missing values, so the
        ``n`` of two variables of one group may differ.
    by
        Grouping columns, outermost first.
    levels
        For some ``by`` columns, their levels in display order. Rows whose value is not among them are
        left out. Columns without levels take the sorted distinct values present (missing values form
        no group).

    Returns
    -------
    list of GroupSummary
        One per combination of levels, in the order of ``by`` (the first column varies slowest).
        When every ``by`` column has ``levels``, every combination is returned, empty ones with
        ``n = 0``; otherwise only combinations with rows are returned.
    """
    levels = dict(levels or {})
    missing = [c for c in [*variables, *by] if c not in data.columns]
    if missing:
        raise ValueError(f"no column {', '.join(missing)}")
    rows = data
    for column, wanted in levels.items():
        rows = rows[rows[column].isin(list(wanted))]
    order = [list(levels[c]) if c in levels else sorted(rows[c].dropna().unique()) for c in by]
    groups = {key if isinstance(key, tuple) else (key,): part for key, part in rows.groupby(list(by))}
    every = all(c in levels for c in by)
    empty = data.iloc[0:0]
    result = []
    for key in itertools.product(*order):
        part = groups.get(key)
        if part is None and not every:
            continue
        values = part if part is not None else empty
        result.append(
            GroupSummary(
                group=dict(zip(by, key, strict=True)),
                variables={v: describe(values[v].astype(np.float64)) for v in variables},
            )
        )
    return result
