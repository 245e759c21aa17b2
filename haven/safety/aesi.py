"""Adverse events of special interest (AESI): the categories and the terms that flag them.

Pure, no Django. A term is flagged when it contains one of a category's keywords, ignoring case;
staff may also choose a category by hand. Positive-valence effects (euphoria, drug liking…) are a
category like any other: under ICH E2A an adverse event is any untoward medical occurrence, and a
"pleasant" effect is no exception. The keyword lists are a starting point [U]; a protocol's own
list should replace them when it names one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AesiCategory:
    code: str
    label: str
    keywords: tuple[str, ...]


CATEGORIES: tuple[AesiCategory, ...] = (
    AesiCategory(
        "cardiovascular",
        "Cardiovascular",
        (
            "hypertensi",
            "blood pressure increased",
            "tachycardia",
            "heart rate increased",
            "palpitation",
            "chest pain",
            "chest discomfort",
            "arrhythmia",
            "myocardial",
            "qt prolong",
            "syncope",
        ),
    ),
    AesiCategory(
        "suicidality",
        "Suicidality",
        ("suicid", "self-harm", "self harm", "intentional overdose"),
    ),
    AesiCategory(
        "abuse_related",
        "Abuse-related",
        ("craving", "drug seeking", "misuse", "diversion", "withdrawal", "dependence", "tolerance"),
    ),
    AesiCategory(
        "positive_valence",
        "Positive-valence effects",
        (
            "euphori",
            "elated",
            "elevated mood",
            "feeling high",
            "feeling of high",
            "drug liking",
            "feeling abnormal",
            "increased energy",
            "feeling of relaxation",
            "inappropriate affect",
        ),
    ),
    AesiCategory(
        "hepatic",
        "Hepatic",
        ("hepat", "liver", "alt increased", "ast increased", "transaminase", "bilirubin", "jaundice"),
    ),
    AesiCategory(
        "hyponatraemia",
        "Hyponatraemia",
        ("hyponatr", "sodium decreased", "water intoxication"),
    ),
)

CODES = frozenset(c.code for c in CATEGORIES)
LABELS = {c.code: c.label for c in CATEGORIES}


def aesi_match(term: str) -> list[str]:
    """The codes of the categories whose keywords occur in ``term`` (case-insensitive), in table order."""
    text = " ".join(term.lower().split())
    return [c.code for c in CATEGORIES if any(keyword in text for keyword in c.keywords)]
