"""PHQ-9, the Patient Health Questionnaire depression module (nine items, last 2 weeks).

Sources
-------
- Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression severity measure.
  J Gen Intern Med 2001;16(9):606-613: the items, the 0-3 answers, the total 0-27 and the severity
  bands 0-4, 5-9, 10-14, 15-19, 20-27.
- Pfizer's PHQ screeners (phqscreeners.com): "No permission required to reproduce, translate,
  display or distribute"; the functional-difficulty question that follows the nine items.
- Clinical reference §5.2 (Haven's compiled notes): bands [V]; item 9 "any positive triggers
  suicide-risk follow-up regardless of the total" [V2]; difficulty item not summed [V2]; no
  official missing-item rule [V2]; LOINC codes (panel 44249-1 and total 44261-6 [V], items [V2]).
- Answer codes LA6568-5, LA6569-3, LA6570-1, LA6571-9 and the difficulty answer list LL359-1
  (LA6572-7, LA6573-5, LA6575-0 "Very difficult", LA6574-3 "Extremely difficult"): as published in
  the HL7 FHIR implementation guides of the German Medical Informatics Initiative (PRO module) and
  the Personal Health Record format IG [V2].

Missing items (a product decision; there is no official rule): prorated when at most one of the
nine items is unanswered (mean of the eight × 9, rounded half up), else no score. Item 9 unanswered
is flagged on its own, because the one question about self-harm must not go unasked.
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
from haven.outcomes.instruments.rules import band_for, check_bands, prorated_sum

CODE = "phq9"
SCORER_VERSION = "1"
MAX_MISSING = 1

# The answers the PHQ-9 and the GAD-7 share.
FREQUENCY = (
    AnswerOption(0, "Not at all", "LA6568-5"),
    AnswerOption(1, "Several days", "LA6569-3"),
    AnswerOption(2, "More than half the days", "LA6570-1"),
    AnswerOption(3, "Nearly every day", "LA6571-9"),
)
DIFFICULTY = (
    AnswerOption(0, "Not difficult at all", "LA6572-7"),
    AnswerOption(1, "Somewhat difficult", "LA6573-5"),
    AnswerOption(2, "Very difficult", "LA6575-0"),
    AnswerOption(3, "Extremely difficult", "LA6574-3"),
)
DIFFICULTY_TEXT = (
    "If you checked off any problems, how difficult have these problems made it for you to do your "
    "work, take care of things at home, or get along with other people?"
)

_ITEMS = (
    ("44250-9", "Little interest or pleasure in doing things"),
    ("44255-8", "Feeling down, depressed, or hopeless"),
    ("44259-0", "Trouble falling or staying asleep, or sleeping too much"),
    ("44254-1", "Feeling tired or having little energy"),
    ("44251-7", "Poor appetite or overeating"),
    (
        "44258-2",
        "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
    ),
    ("44252-5", "Trouble concentrating on things, such as reading the newspaper or watching television"),
    (
        "44253-3",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so "
        "fidgety or restless that you have been moving around a lot more than usual",
    ),
    ("44260-8", "Thoughts that you would be better off dead or of hurting yourself in some way"),
)

ITEM_CODES = tuple(f"phq9_{number}" for number in range(1, 10))
SUICIDE_ITEM = "phq9_9"

BANDS = check_bands(
    (
        Band(0, 4, "none_minimal", "None/minimal depression"),
        Band(5, 9, "mild", "Mild depression"),
        Band(10, 14, "moderate", "Moderate depression"),
        Band(15, 19, "moderately_severe", "Moderately severe depression"),
        Band(20, 27, "severe", "Severe depression"),
    ),
    0,
    27,
)

MISSING_RULE = (
    "Prorated when at most 1 of the 9 items is unanswered (mean of the answered items × 9, rounded "
    "half up); no score when more are missing. Haven's rule: the PHQ-9 has no official one. "
    "An unanswered item 9 is flagged for follow-up."
)


def score(answers: Answers, options: Options) -> Score:
    """Total (0-27), severity band, item 9 flag; the difficulty answer is recorded, not summed."""
    result = prorated_sum(answers, ITEM_CODES, max_missing=MAX_MISSING)
    band = band_for(result.total, BANDS)
    flags: list[Flag] = []
    item9 = answers.get(SUICIDE_ITEM)
    if isinstance(item9, int) and item9 >= 1:
        label = FREQUENCY[item9].label
        flags.append(
            Flag(
                "suicidality",
                f"Item 9 (thoughts of being better off dead or of self-harm) answered “{label}”: "
                "assess suicide risk today, whatever the total.",
                "critical",
            )
        )
    elif item9 is None:
        flags.append(
            Flag(
                "item9_missing",
                "Item 9 (thoughts of being better off dead or of self-harm) was not answered: ask it.",
                "warning",
            )
        )
    difficulty = answers.get("phq9_difficulty")
    return Score(
        instrument=CODE,
        scorer_version=SCORER_VERSION,
        total=result.total,
        complete=result.complete,
        missing_rule_applied=result.rule_applied,
        items_missing=result.missing,
        band=band.code if band else None,
        band_label=band.label if band else None,
        flags=tuple(flags),
        details={"difficulty": difficulty if isinstance(difficulty, int) else None},
    )


INSTRUMENT = Instrument(
    code=CODE,
    name="Patient Health Questionnaire-9 (PHQ-9)",
    version="2001",
    edition="PHQ-9 (Kroenke, Spitzer & Williams 2001), English",
    recall_period="last 2 weeks",
    licence=(
        "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, with an "
        "educational grant from Pfizer Inc. No permission required to reproduce, translate, display or "
        "distribute."
    ),
    instructions="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    items=(
        *(
            Item(code, f"Item {number}", text, options=FREQUENCY, loinc=loinc)
            for number, (code, (loinc, text)) in enumerate(zip(ITEM_CODES, _ITEMS, strict=True), start=1)
        ),
        Item(
            "phq9_difficulty",
            "Difficulty",
            DIFFICULTY_TEXT,
            options=DIFFICULTY,
            loinc="69722-7",
            required=False,
            scored=False,
        ),
    ),
    missing_rule=MISSING_RULE,
    respondents=("patient",),
    scorer=score,
    scorer_version=SCORER_VERSION,
    sources=(
        "Kroenke K, Spitzer RL, Williams JBW. J Gen Intern Med 2001;16(9):606-613.",
        "Clinical reference §5.2 (bands, item 9 follow-up, LOINC).",
    ),
    loinc_panel="44249-1",
    loinc_total="44261-6",
    total_range=(0, 27),
)
