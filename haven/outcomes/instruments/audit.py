"""AUDIT, the WHO Alcohol Use Disorders Identification Test (ten items, self-report version).

Sources
-------
- Babor TF, Higgins-Biddle JC, Saunders JB, Monteiro MG. AUDIT: The Alcohol Use Disorders
  Identification Test. Guidelines for Use in Primary Care. 2nd ed. Geneva: World Health
  Organization; 2001 (WHO/MSD/MSB/01.6a): the ten questions; items 1-8 scored 0-4, items 9-10
  scored 0, 2 or 4; total 0-40; the four risk zones with their interventions (I 0-7 alcohol
  education, II 8-15 simple advice, III 16-19 simple advice plus brief counselling and continued
  monitoring, IV 20-40 referral to a specialist for diagnostic evaluation and treatment).
  These come from the manual as remembered, not checked against it here [U]; the clinical reference
  lists the AUDIT only as an exploratory screening measure (§1.5).
- Saunders JB, Aasland OG, Babor TF, de la Fuente JR, Grant M. Development of the Alcohol Use
  Disorders Identification Test (AUDIT). Addiction 1993;88(6):791-804.

LOINC: public code gives contradictory panel and total codes for the AUDIT and the AUDIT-C, so none
are encoded until they are checked against LOINC itself [U].

Licence: the WHO manual lets the test be reproduced and translated freely, not for sale or for use
with commercial purposes [U: confirm for a commercial deployment].

The interviewer version of the manual skips questions 2-8 after "Never" to question 1 (and 4-8
when 2 and 3 are both 0); skipped questions then score 0. This self-report version asks all ten, so
a site using the interview version records 0 for the skipped questions.

Missing items: no score when any of the ten is unanswered.
"""

from __future__ import annotations

from haven.outcomes.instruments.base import (
    AnswerOption,
    Answers,
    Band,
    Flag,
    Instrument,
    Item,
    Options,
    Score,
)
from haven.outcomes.instruments.rules import band_for, check_bands, complete_sum

CODE = "audit"
SCORER_VERSION = "1"

_HOW_OFTEN = (
    AnswerOption(0, "Never"),
    AnswerOption(1, "Less than monthly"),
    AnswerOption(2, "Monthly"),
    AnswerOption(3, "Weekly"),
    AnswerOption(4, "Daily or almost daily"),
)
_INJURY = (
    AnswerOption(0, "No"),
    AnswerOption(2, "Yes, but not in the last year"),
    AnswerOption(4, "Yes, during the last year"),
)

_ITEMS: tuple[tuple[str, tuple[AnswerOption, ...]], ...] = (
    (
        "How often do you have a drink containing alcohol?",
        (
            AnswerOption(0, "Never"),
            AnswerOption(1, "Monthly or less"),
            AnswerOption(2, "2 to 4 times a month"),
            AnswerOption(3, "2 to 3 times a week"),
            AnswerOption(4, "4 or more times a week"),
        ),
    ),
    (
        "How many drinks containing alcohol do you have on a typical day when you are drinking?",
        (
            AnswerOption(0, "1 or 2"),
            AnswerOption(1, "3 or 4"),
            AnswerOption(2, "5 or 6"),
            AnswerOption(3, "7, 8 or 9"),
            AnswerOption(4, "10 or more"),
        ),
    ),
    ("How often do you have six or more drinks on one occasion?", _HOW_OFTEN),
    (
        "How often during the last year have you found that you were not able to stop drinking once you "
        "had started?",
        _HOW_OFTEN,
    ),
    (
        "How often during the last year have you failed to do what was normally expected from you because "
        "of drinking?",
        _HOW_OFTEN,
    ),
    (
        "How often during the last year have you needed a first drink in the morning to get yourself going "
        "after a heavy drinking session?",
        _HOW_OFTEN,
    ),
    ("How often during the last year have you had a feeling of guilt or remorse after drinking?", _HOW_OFTEN),
    (
        "How often during the last year have you been unable to remember what happened the night before "
        "because you had been drinking?",
        _HOW_OFTEN,
    ),
    ("Have you or someone else been injured as a result of your drinking?", _INJURY),
    (
        "Has a relative or friend, or a doctor or other health worker, been concerned about your drinking "
        "or suggested you cut down?",
        _INJURY,
    ),
)
ITEM_CODES = tuple(f"audit_{number}" for number in range(1, 11))

ZONES = check_bands(
    (
        Band(0, 7, "zone_i", "Zone I: alcohol education"),
        Band(8, 15, "zone_ii", "Zone II: simple advice"),
        Band(16, 19, "zone_iii", "Zone III: simple advice plus brief counselling and continued monitoring"),
        Band(20, 40, "zone_iv", "Zone IV: referral to a specialist for diagnostic evaluation and treatment"),
    ),
    0,
    40,
)
ACTIONS = {
    "zone_i": "Alcohol education.",
    "zone_ii": "Simple advice.",
    "zone_iii": "Simple advice plus brief counselling and continued monitoring.",
    "zone_iv": "Referral to a specialist for diagnostic evaluation and treatment.",
}

MISSING_RULE = "No score when any of the 10 items is unanswered."


def score(answers: Answers, options: Options) -> Score:
    """Total (0-40) and WHO risk zone with its intervention."""
    result = complete_sum(answers, ITEM_CODES)
    zone = band_for(result.total, ZONES)
    flags: tuple[Flag, ...] = ()
    if zone is not None and zone.code in ("zone_iii", "zone_iv"):
        flags = (Flag("alcohol_risk", f"AUDIT {result.total}: {zone.label}.", "warning"),)
    return Score(
        instrument=CODE,
        scorer_version=SCORER_VERSION,
        total=result.total,
        complete=result.complete,
        missing_rule_applied=result.rule_applied,
        items_missing=result.missing,
        band=zone.code if zone else None,
        band_label=zone.label if zone else None,
        flags=flags,
        action=ACTIONS[zone.code] if zone else None,
    )


INSTRUMENT = Instrument(
    code=CODE,
    name="Alcohol Use Disorders Identification Test (AUDIT)",
    version="2001",
    edition="AUDIT, WHO 2nd edition (2001), self-report, English",
    recall_period="past year (questions 9-10: ever, and whether during the last year)",
    licence=(
        "© World Health Organization 2001. The manual permits free reproduction and translation, not for "
        "sale or in conjunction with commercial purposes [U: confirm for a commercial deployment]."
    ),
    instructions=(
        "Questions about your use of alcoholic beverages during the past year. A drink means one standard "
        "drink (for example a glass of wine, a bottle of beer or a shot of spirits)."
    ),
    items=tuple(
        Item(code, f"Item {number}", text, options=options)
        for number, (code, (text, options)) in enumerate(zip(ITEM_CODES, _ITEMS, strict=True), start=1)
    ),
    missing_rule=MISSING_RULE,
    respondents=("patient",),
    scorer=score,
    scorer_version=SCORER_VERSION,
    sources=(
        "Babor TF, Higgins-Biddle JC, Saunders JB, Monteiro MG. AUDIT, 2nd ed. WHO 2001 (WHO/MSD/MSB/01.6a).",
        "Saunders JB et al. Addiction 1993;88(6):791-804.",
    ),
    total_range=(0, 40),
)
