"""Design matrices for ``outcome ~ arm * visit + covariates`` and the LS-means reference grid.

The columns follow R's ``model.matrix`` with treatment contrasts, so coefficients can be compared one
for one with ``lm``/``gls`` output: the intercept, the arms other than the reference, the visits other
than the first, each covariate (a numeric one as itself, a categorical one as indicators of its levels
other than the first), then the arm-by-visit interactions with the arm varying fastest.

Categorical covariates are those whose column is not numeric (strings, categories, booleans). Their
levels are sorted (as R sorts the levels of a character column in the C locale), and the first is the
reference level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Covariate:
    """One covariate of the model: numeric (``levels`` empty, ``mean`` set) or categorical."""

    name: str
    levels: tuple[str, ...]
    mean: float
    by_visit: bool = False  # numeric only: a slope per visit (the covariate-by-visit interaction)

    @property
    def categorical(self) -> bool:
        return bool(self.levels)


@dataclass(frozen=True)
class Design:
    """The model matrix of the analysed rows and what is needed to build LS-means rows."""

    x: FloatArray
    column_names: tuple[str, ...]
    arms: tuple[str, ...]
    visits: tuple[str, ...]
    covariates: tuple[Covariate, ...]
    has_visit: bool
    visit_name: str = ""

    def grid_row(self, *, arm: str, visit: str | None) -> FloatArray:
        """The row of the reference grid for one arm (at one visit, when the model has visits).

        Equal weights over factor levels: each categorical covariate contributes ``1/k`` to each of
        its ``k - 1`` indicator columns, which is the average over its ``k`` levels with equal weight
        whatever their frequencies in the data (``emmeans``' default, SAS ``LSMEANS``). Numeric
        covariates are set to their mean over the analysed rows.
        """
        return _rows(
            arms=self.arms,
            visits=self.visits if self.has_visit else (),
            covariates=self.covariates,
            arm_values=np.array([arm], dtype=object),
            visit_values=np.array([visit], dtype=object) if self.has_visit else None,
            covariate_values=None,
        )[0, :]


def _levels(values: pd.Series[str], order: Sequence[str] | None) -> tuple[str, ...]:
    present = sorted({str(v) for v in values})
    if order is None:
        return tuple(present)
    unknown = [v for v in present if v not in order]
    if unknown:
        raise ValueError(f"levels {unknown} are not in the given order {list(order)}")
    return tuple(v for v in order if v in present)


def _rows(
    *,
    arms: tuple[str, ...],
    visits: tuple[str, ...],
    covariates: tuple[Covariate, ...],
    arm_values: npt.NDArray[np.object_],
    visit_values: npt.NDArray[np.object_] | None,
    covariate_values: dict[str, npt.NDArray[np.object_] | FloatArray] | None,
) -> FloatArray:
    n = len(arm_values)
    arm_cols = np.column_stack([arm_values == a for a in arms[1:]]).astype(np.float64)
    blocks: list[FloatArray] = [np.ones((n, 1)), arm_cols.reshape(n, len(arms) - 1)]
    visit_cols = np.zeros((n, 0))
    numeric: dict[str, FloatArray] = {}
    if visit_values is not None:
        visit_cols = np.column_stack([visit_values == v for v in visits[1:]]).astype(np.float64)
        visit_cols = visit_cols.reshape(n, len(visits) - 1)
        blocks.append(visit_cols)
    for cov in covariates:
        if covariate_values is None:
            # The reference grid: equal weights over levels, numeric covariates at their mean.
            if cov.categorical:
                blocks.append(np.full((n, len(cov.levels) - 1), 1.0 / len(cov.levels)))
            else:
                numeric[cov.name] = np.full(n, cov.mean)
                blocks.append(numeric[cov.name].reshape(n, 1))
            continue
        values = covariate_values[cov.name]
        if cov.categorical:
            blocks.append(np.column_stack([values == lv for lv in cov.levels[1:]]).astype(np.float64))
        else:
            numeric[cov.name] = np.asarray(values, dtype=np.float64)
            blocks.append(numeric[cov.name].reshape(n, 1))
    if visit_values is not None:
        inter = [
            visit_cols[:, j] * arm_cols[:, i] for j in range(len(visits) - 1) for i in range(len(arms) - 1)
        ]
        if inter:
            blocks.append(np.column_stack(inter))
        for cov in covariates:
            if cov.by_visit:
                blocks.append(visit_cols * numeric[cov.name][:, None])
    return np.hstack(blocks)


def build_design(
    data: pd.DataFrame,
    *,
    arm: str,
    visit: str | None,
    covariates: Sequence[str] = (),
    reference: str | None = None,
    visit_order: Sequence[str] | None = None,
    arm_order: Sequence[str] | None = None,
    by_visit: Sequence[str] = (),
) -> Design:
    """Build the model matrix of ``arm * visit + covariates`` (or ``arm + covariates`` without visit).

    Parameters
    ----------
    data
        The analysed rows only (rows with a missing value already dropped).
    arm, visit, covariates
        Column names. ``visit=None`` builds the ANCOVA design ``arm + covariates``.
    reference
        The control arm (first level); by default the first arm in sorted order (or in ``arm_order``).
    arm_order
        The arms in the order of the output (e.g. by dose); by default sorted.
    visit_order
        The visits in time order; by default sorted.
    by_visit
        Numeric covariates that also interact with visit (e.g. baseline by visit), as R's
        ``+ AVISIT:BASE``: one column per visit after the first, after the arm-by-visit columns.
    """
    unknown = [name for name in by_visit if name not in covariates]
    if unknown or (by_visit and visit is None):
        raise ValueError(f"by_visit needs covariates of a model with visits; not usable: {list(by_visit)}")
    arm_levels = _levels(data[arm].astype(str), arm_order)
    if reference is not None:
        if reference not in arm_levels:
            raise ValueError(f"reference arm {reference!r} is not among {list(arm_levels)}")
        arm_levels = (reference, *(a for a in arm_levels if a != reference))
    if len(arm_levels) < 2:
        raise ValueError("the model needs at least two arms")
    visit_levels: tuple[str, ...] = ()
    visit_values = None
    if visit is not None:
        visit_levels = _levels(data[visit].astype(str), visit_order)
        visit_values = data[visit].astype(str).to_numpy(dtype=object)
    covs: list[Covariate] = []
    values: dict[str, npt.NDArray[np.object_] | FloatArray] = {}
    for name in covariates:
        col = data[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            numeric = col.to_numpy(dtype=np.float64)
            covs.append(
                Covariate(name=name, levels=(), mean=float(numeric.mean()), by_visit=name in by_visit)
            )
            values[name] = numeric
        else:
            if name in by_visit:
                raise ValueError(f"by_visit takes numeric covariates; {name!r} is categorical")
            text = col.astype(str)
            covs.append(Covariate(name=name, levels=_levels(text, None), mean=float("nan")))
            values[name] = text.to_numpy(dtype=object)
    x = _rows(
        arms=arm_levels,
        visits=visit_levels,
        covariates=tuple(covs),
        arm_values=data[arm].astype(str).to_numpy(dtype=object),
        visit_values=visit_values,
        covariate_values=values,
    )
    names = [
        "(Intercept)",
        *(f"{arm}{a}" for a in arm_levels[1:]),
        *(f"{visit}{v}" for v in visit_levels[1:]),
    ]
    for cov in covs:
        names.extend([f"{cov.name}{lv}" for lv in cov.levels[1:]] if cov.categorical else [cov.name])
    names.extend(f"{arm}{a}:{visit}{v}" for v in visit_levels[1:] for a in arm_levels[1:])
    names.extend(f"{visit}{v}:{cov.name}" for cov in covs if cov.by_visit for v in visit_levels[1:])
    return Design(
        x=x,
        column_names=tuple(names),
        arms=arm_levels,
        visits=visit_levels,
        covariates=tuple(covs),
        has_visit=visit is not None,
        visit_name=visit or "",
    )
