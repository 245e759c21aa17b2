"""GAD-7, the Generalized Anxiety Disorder scale (seven items, last 2 weeks).

Sources
-------
- Spitzer RL, Kroenke K, Williams JBW, Löwe B. A brief measure for assessing generalized anxiety
  disorder: the GAD-7. Arch Intern Med 2006;166(10):1092-1097: the items, the 0-3 answers, the
  total 0-21 and the cut-points 5, 10 and 15 for mild, moderate and severe anxiety.
- Pfizer's PHQ screeners: no permission required to reproduce, translate, display or distribute.
- Clinical reference §5.3: total and bands [V2]; LOINC panel 69737-5 and total 70274-6 [V]; item
  codes [V2, and the same in the HL7 Personal Health Record format IG's GAD-7 example]; answer codes
  shared with the PHQ-9.

Missing items (a product decision; there is no official rule): prorated when at most one of the
seven items is unanswered (mean of the six × 7, rounded half up), else no score.
The difficulty question that follows the seven items is recorded and not summed; its LOINC code is
not encoded here because it was not checked for the GAD-7 panel [U].
"""

from __future__ import annotations

from haven.outcomes.instruments.base import Answers, Band, Instrument, Item, Options, Score
from haven.outcomes.instruments.phq9 import DIFFICULTY, DIFFICULTY_TEXT, FREQUENCY
from haven.outcomes.instruments.rules import band_for, check_bands, prorated_sum

CODE = "gad7"
SCORER_VERSION = "1"
MAX_MISSING = 1

_ITEMS = (
    ("69725-0", "Feeling nervous, anxious, or on edge"),
    ("68509-9", "Not being able to stop or control worrying"),
    ("69733-4", "Worrying too much about different things"),
    ("69734-2", "Trouble relaxing"),
    ("69735-9", "Being so restless that it is hard to sit still"),
    ("69689-8", "Becoming easily annoyed or irritable"),
    ("69736-7", "Feeling afraid, as if something awful might happen"),
)
ITEM_CODES = tuple(f"gad7_{number}" for number in range(1, 8))

BANDS = check_bands(
    (
        Band(0, 4, "minimal", "Minimal anxiety"),
        Band(5, 9, "mild", "Mild anxiety"),
        Band(10, 14, "moderate", "Moderate anxiety"),
        Band(15, 21, "severe", "Severe anxiety"),
    ),
    0,
    21,
)

MISSING_RULE = (
    "Prorated when at most 1 of the 7 items is unanswered (mean of the answered items × 7, rounded "
    "half up); no score when more are missing. Haven's rule: the GAD-7 has no official one."
)


def score(answers: Answers, options: Options) -> Score:
    """Total (0-21) and severity band."""
    result = prorated_sum(answers, ITEM_CODES, max_missing=MAX_MISSING)
    band = band_for(result.total, BANDS)
    difficulty = answers.get("gad7_difficulty")
    return Score(
        instrument=CODE,
        scorer_version=SCORER_VERSION,
        total=result.total,
        complete=result.complete,
        missing_rule_applied=result.rule_applied,
        items_missing=result.missing,
        band=band.code if band else None,
        band_label=band.label if band else None,
        details={"difficulty": difficulty if isinstance(difficulty, int) else None},
    )


INSTRUMENT = Instrument(
    code=CODE,
    name="Generalized Anxiety Disorder 7-item scale (GAD-7)",
    version="2006",
    edition="GAD-7 (Spitzer, Kroenke, Williams & Löwe 2006), English",
    recall_period="last 2 weeks",
    licence=(
        "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, with an "
        "educational grant from Pfizer Inc. No permission required to reproduce, translate, display or "
        "distribute."
    ),
    instructions="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=(
        *(
            Item(code, f"Item {number}", text, options=FREQUENCY, loinc=loinc)
            for number, (code, (loinc, text)) in enumerate(zip(ITEM_CODES, _ITEMS, strict=True), start=1)
        ),
        Item(
            "gad7_difficulty",
            "Difficulty",
            DIFFICULTY_TEXT,
            options=DIFFICULTY,
            required=False,
            scored=False,
        ),
    ),
    missing_rule=MISSING_RULE,
    respondents=("patient",),
    scorer=score,
    scorer_version=SCORER_VERSION,
    sources=(
        "Spitzer RL, Kroenke K, Williams JBW, Löwe B. Arch Intern Med 2006;166(10):1092-1097.",
        "Clinical reference §5.3 (bands, LOINC).",
    ),
    loinc_panel="69737-5",
    loinc_total="70274-6",
    total_range=(0, 21),
)
