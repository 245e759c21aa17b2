"""Scoring rules shared by several instruments: sums with a missing-item rule, bands, rounding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from haven.outcomes.instruments.base import Answers, Band


def round_half_up(value: Decimal) -> int:
    """Round to a whole number, halves away from zero (2.5 → 3), as people do by hand.

    Python's ``round`` rounds halves to even (2.5 → 2), which no scoring manual means.
    """
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Sum:
    """A total under a missing-item rule. ``total`` is None when the rule gives no score."""

    total: int | None
    answered: int
    expected: int
    missing: tuple[str, ...]
    rule_applied: str

    @property
    def complete(self) -> bool:
        return not self.missing


def item_values(answers: Answers, codes: Sequence[str]) -> dict[str, int]:
    """The integer answers among ``codes`` (unanswered items left out)."""
    values: dict[str, int] = {}
    for code in codes:
        value = answers.get(code)
        if isinstance(value, int) and not isinstance(value, bool):
            values[code] = value
    return values


def prorated_sum(answers: Answers, codes: Sequence[str], *, max_missing: int) -> Sum:
    """Sum of the items; with up to ``max_missing`` unanswered, the mean of those answered × the
    number of items, rounded half up; with more unanswered, no score."""
    values = item_values(answers, codes)
    missing = tuple(code for code in codes if code not in values)
    expected = len(codes)
    if not missing:
        return Sum(sum(values.values()), expected, expected, (), f"all {expected} items answered")
    count = len(values)
    if len(missing) > max_missing or count == 0:
        return Sum(None, count, expected, missing, _no_score(missing))
    total = round_half_up(Decimal(sum(values.values())) * expected / count)
    return Sum(total, count, expected, missing, f"prorated from {count} of {expected} items")


def complete_sum(answers: Answers, codes: Sequence[str]) -> Sum:
    """Sum of the items; no score when any is unanswered."""
    return prorated_sum(answers, codes, max_missing=0)


def _no_score(missing: Sequence[str]) -> str:
    return f"no score: {len(missing)} item{'s' if len(missing) != 1 else ''} missing"


def band_for(total: int | None, bands: Sequence[Band]) -> Band | None:
    """The band holding ``total`` (None for no total)."""
    if total is None:
        return None
    return next((band for band in bands if band.low <= total <= band.high), None)


def cluster_sums(answers: Answers, clusters: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """The sum of each cluster whose items were all answered; incomplete clusters are left out."""
    sums: dict[str, int] = {}
    for name, codes in clusters.items():
        values = item_values(answers, codes)
        if len(values) == len(codes):
            sums[name] = sum(values.values())
    return sums


def check_bands(bands: Sequence[Band], low: int, high: int) -> tuple[Band, ...]:
    """The bands, after making sure they cover ``low``..``high`` without gaps or overlaps.

    Called when an instrument module is imported, so a typo in a band table fails at once.
    """
    expected = low
    for band in bands:
        if band.low != expected or band.high < band.low:
            raise ValueError(f"bands must cover {low}..{high} in order; {band.code} starts at {band.low}")
        expected = band.high + 1
    if expected != high + 1:
        raise ValueError(f"bands must cover {low}..{high}; they end at {expected - 1}")
    return tuple(bands)
