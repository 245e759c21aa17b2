"""What the eligibility engine knows about a candidate. Pure: no Django.

``haven.screening.services.facts_for(course)`` builds this from the screening record; tests build
it directly. Every measurement carries its UCUM unit; the engine converts where a conversion is
known and otherwise treats a unit it cannot compare as missing data, never as a pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

# Psychiatric conditions a protocol can name (the rest are free text under "other").
PSYCHIATRIC_CODES = (
    "ptsd",
    "primary_psychotic_disorder",
    "bipolar_i",
    "dissociative_identity_disorder",
    "eating_disorder_with_purging",
    "substance_use_disorder",
    "major_depressive_disorder",
    "mdd_with_psychotic_features",
    "personality_disorder",
    "other",
)
CONDITION_CATEGORIES = ("cardiovascular", "hepatic", "renal", "neurological", "psychiatric", "other")
CSSRS_LEVELS = ("none", "low", "moderate", "high")


@dataclass(frozen=True)
class Condition:
    name: str
    category: str  # one of CONDITION_CATEGORIES
    code: str = ""  # for psychiatric conditions: one of PSYCHIATRIC_CODES
    onset: date | None = None
    current: bool = True


@dataclass(frozen=True)
class Medication:
    name: str
    drug_class: str  # a code of the drug-class table, or "" for none that matters here
    start: date | None = None
    stop: date | None = None  # None: still taking it


@dataclass(frozen=True)
class Measurement:
    value: Decimal
    unit: str  # UCUM
    at: datetime | None = None


@dataclass(frozen=True)
class ScreeningFacts:
    date_of_birth: date | None = None
    sex: str | None = None  # female, male, intersex, unknown
    conditions: Sequence[Condition] = ()
    medications: Sequence[Medication] = ()
    measurements: Mapping[str, Sequence[Measurement]] = field(default_factory=dict)
    flags: Mapping[str, bool | None] = field(default_factory=dict)
    cssrs_risk: str | None = None  # one of CSSRS_LEVELS, from the screener
    # drug class code → washout in days (from the site's configured table)
    washout_days: Mapping[str, int] = field(default_factory=dict)
    # Which sections of the screening record are complete, for "missing data" messages.
    sections_complete: frozenset[str] = frozenset()
