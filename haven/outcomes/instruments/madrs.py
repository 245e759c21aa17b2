"""MADRS, the Montgomery-Åsberg Depression Rating Scale (ten clinician-rated items, 0-6 each).

Licensed instrument: shipped as item codes and scoring rules only, without the items' wording or
their anchor descriptions. The rater uses their own licensed copy of the scale.

Sources
-------
- Montgomery SA, Åsberg M. A new depression scale designed to be sensitive to change.
  Br J Psychiatry 1979;134:382-389: ten items rated 0-6, total 0-60.
- Clinical reference §4: total 0-60 [V]; bands 0-6 normal, 7-19 mild, 20-34 moderate, 35-60 severe
  are common but unverified [U], so they are kept in one table here, easy to replace.
- The recall period (the past week) is the usual interview practice, unverified [U].

Missing items: no score when any of the ten is unrated (a rater completes the whole interview).
"""

from __future__ import annotations

from haven.outcomes.instruments.base import Answers, Band, Instrument, Item, Options, Score
from haven.outcomes.instruments.rules import band_for, check_bands, complete_sum

CODE = "madrs"
SCORER_VERSION = "1"
ITEM_CODES = tuple(f"madrs_{number}" for number in range(1, 11))

# [U] Common bands (clinical reference §4); not from the 1979 paper.
BANDS = check_bands(
    (
        Band(0, 6, "normal", "Normal / symptom absent"),
        Band(7, 19, "mild", "Mild depression"),
        Band(20, 34, "moderate", "Moderate depression"),
        Band(35, 60, "severe", "Severe depression"),
    ),
    0,
    60,
)

MISSING_RULE = "No score when any of the 10 items is unrated."


def score(answers: Answers, options: Options) -> Score:
    """Total (0-60) and band [U]."""
    result = complete_sum(answers, ITEM_CODES)
    band = band_for(result.total, BANDS)
    return Score(
        instrument=CODE,
        scorer_version=SCORER_VERSION,
        total=result.total,
        complete=result.complete,
        missing_rule_applied=result.rule_applied,
        items_missing=result.missing,
        band=band.code if band else None,
        band_label=band.label if band else None,
    )


INSTRUMENT = Instrument(
    code=CODE,
    name="Montgomery-Åsberg Depression Rating Scale (MADRS)",
    version="1979",
    edition="MADRS (Montgomery & Åsberg 1979), clinician-rated",
    recall_period="past week [U]",
    licence="Licensed: item wording and anchors are not included; raters use their own licensed copy.",
    items=tuple(
        Item(
            code,
            f"MADRS item {number}, rated 0-6 (licensed; wording not included)",
            None,
            kind="integer",
            minimum=0,
            maximum=6,
        )
        for number, code in enumerate(ITEM_CODES, start=1)
    ),
    missing_rule=MISSING_RULE,
    respondents=("rater",),
    scorer=score,
    scorer_version=SCORER_VERSION,
    sources=(
        "Montgomery SA, Åsberg M. Br J Psychiatry 1979;134:382-389.",
        "Clinical reference §4 (range [V], bands [U]).",
    ),
    total_range=(0, 60),
)
