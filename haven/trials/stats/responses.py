"""Response categories of the MAPP programme and their proportions by arm.

Each randomised participant falls in exactly one category, checked in this order (MAPP1 Fig. 3):

1. ``withdrawn``: early termination after randomisation;
2. ``remission``: no longer meets the diagnostic criteria AND total at or below ``remission_max``
   (CAPS-5 total <= 11);
3. ``loss_of_diagnosis``: no longer meets the diagnostic criteria;
4. ``responder``: a decrease from baseline of at least ``responder_drop`` points (CAPS-5: 10);
5. ``non_responder``: otherwise.

A participant in remission has also lost the diagnosis, and most have also responded; the first
matching category is the one shown. Counts per arm come with Wilson intervals, and each arm's
proportion is compared with the control's by risk difference (Newcombe) and Fisher's exact test
(``proportions``). The participant's "diagnosis met" flag comes from the instrument's item algorithm
(CAPS-5), not from the total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from haven.trials.stats.proportions import Interval, TestResult, fisher_exact, risk_difference, wilson

Category = Literal["withdrawn", "remission", "loss_of_diagnosis", "responder", "non_responder"]
CATEGORIES: tuple[Category, ...] = (
    "withdrawn",
    "remission",
    "loss_of_diagnosis",
    "responder",
    "non_responder",
)


def classify_response(
    *,
    baseline: float | None,
    endpoint: float | None,
    diagnosis_at_endpoint: bool | None,
    withdrawn: bool = False,
    responder_drop: float = 10.0,
    remission_max: float = 11.0,
) -> Category:
    """The participant's category (see the module docstring).

    A participant who has not withdrawn needs a baseline, an endpoint total and the endpoint
    diagnosis; a missing one is an error rather than a silent category.
    """
    if withdrawn:
        return "withdrawn"
    if baseline is None or endpoint is None or diagnosis_at_endpoint is None:
        raise ValueError("baseline, endpoint and the endpoint diagnosis are needed unless withdrawn")
    if not diagnosis_at_endpoint and endpoint <= remission_max:
        return "remission"
    if not diagnosis_at_endpoint:
        return "loss_of_diagnosis"
    if baseline - endpoint >= responder_drop:
        return "responder"
    return "non_responder"


@dataclass(frozen=True)
class CategoryRow:
    """One category in one arm: ``n`` of ``total`` with its Wilson interval; for a non-control arm,
    the difference from the control (Newcombe interval) and Fisher's exact p."""

    arm: str
    category: Category
    n: int
    total: int
    proportion: Interval
    difference: Interval | None
    fisher: TestResult | None


def response_table(
    categories: Mapping[str, Sequence[Category]], *, control: str, level: float = 0.95
) -> list[CategoryRow]:
    """Rows for every arm and category; ``categories`` maps each arm to its participants' categories."""
    if control not in categories:
        raise ValueError(f"control arm {control!r} is not among {list(categories)}")
    ref = categories[control]
    rows = []
    for arm, values in categories.items():
        for category in CATEGORIES:
            n, total = sum(1 for v in values if v == category), len(values)
            ref_n = sum(1 for v in ref if v == category)
            compare = arm != control
            rows.append(
                CategoryRow(
                    arm=arm,
                    category=category,
                    n=n,
                    total=total,
                    proportion=wilson(n, total, level=level),
                    difference=risk_difference(n, total, ref_n, len(ref), level=level) if compare else None,
                    fisher=fisher_exact([[n, total - n], [ref_n, len(ref) - ref_n]]) if compare else None,
                )
            )
    return rows
