"""C-SSRS Screener, the Columbia Suicide Severity Rating Scale screen (past month; behaviour ever).

Sources
-------
- Posner K, Brown GK, Stanley B, et al. The Columbia-Suicide Severity Rating Scale: initial validity
  and internal consistency findings from three multisite studies with adolescents and adults.
  Am J Psychiatry 2011;168(12):1266-1277.
- The Columbia Lighthouse Project, "Columbia Protocol" screener with triage points (free to use;
  the Project asks users to keep the wording): the six questions, the skip (no to question 2 goes
  straight to question 6), and the triage by answer pattern.
- Clinical reference §5.4: questions and skip [V2]; ideation severity levels 1-5 [V]; "yes to 4 or 5"
  and "behaviour within 3 months" = high risk with safety precautions and immediate evaluation [V];
  "yes to 3, or behaviour more than 3 months ago" = moderate [V2]; "yes to 1 and/or 2 only" = low [V2];
  LOINC codes unconfirmed (panel 73831-0 seen once), so none are encoded.

Risk levels use the same words as screening (``none``, ``low``, ``moderate``, ``high``).

Missing items: there is no total. Risk is judged from what was answered, with the skip logic
honoured: questions 3-5 are asked only after yes to 2, and 6b (within 3 months) only after yes to 6,
so a skipped question is not missing. An asked question left unanswered is reported, and when
behaviour is reported without its recency Haven assumes it was recent (high risk) until asked.
"""

from __future__ import annotations

from haven.outcomes.instruments.base import Answers, EnableWhen, Flag, Instrument, Item, Options, Score
from haven.outcomes.instruments.validation import is_enabled

CODE = "cssrs_screener"
SCORER_VERSION = "1"

ASKED_AFTER_Q2 = (EnableWhen("cssrs_2", True),)
ITEMS = (
    Item(
        "cssrs_1",
        "Wish to be dead",
        "Have you wished you were dead or wished you could go to sleep and not wake up?",
        kind="boolean",
    ),
    Item(
        "cssrs_2",
        "Suicidal thoughts",
        "Have you actually had any thoughts of killing yourself?",
        kind="boolean",
    ),
    Item(
        "cssrs_3",
        "Thoughts with method",
        "Have you been thinking about how you might do this?",
        kind="boolean",
        enable_when=ASKED_AFTER_Q2,
    ),
    Item(
        "cssrs_4",
        "Intent",
        "Have you had these thoughts and had some intention of acting on them?",
        kind="boolean",
        enable_when=ASKED_AFTER_Q2,
    ),
    Item(
        "cssrs_5",
        "Plan and intent",
        "Have you started to work out or worked out the details of how to kill yourself? "
        "Do you intend to carry out this plan?",
        kind="boolean",
        enable_when=ASKED_AFTER_Q2,
    ),
    Item(
        "cssrs_6",
        "Suicidal behaviour (ever)",
        "Have you ever done anything, started to do anything, or prepared to do anything to end your "
        "life? (For example: collected pills, obtained a gun, gave away valuables, wrote a will or "
        "suicide note, took out pills but didn't swallow any, held a gun but changed your mind or it was "
        "grabbed from your hand, went to the roof but didn't jump; or actually took pills, tried to "
        "shoot yourself, cut yourself, tried to hang yourself, etc.)",
        kind="boolean",
    ),
    Item(
        "cssrs_6b",
        "Behaviour within 3 months",
        "Was this within the past 3 months?",
        kind="boolean",
        enable_when=(EnableWhen("cssrs_6", True),),
    ),
)

RISK_LEVELS = ("none", "low", "moderate", "high")

# Triage actions by risk level (clinical reference §5.4: high [V], moderate and low [V2], none: the
# Columbia "other answers" line [V]). A site that grades further keeps its own protocol beside these.
ACTIONS = {
    "high": (
        "Immediate safety precautions: do not leave the person alone; a mental-health professional "
        "evaluates for possible hospitalization now (immediate referral)."
    ),
    "moderate": "Behavioural-health referral and evaluation; safety planning.",
    "low": "Behavioural-health referral or supportive follow-up; give crisis-line information.",
    "none": "No suicidal ideation or behaviour reported; routine care, with crisis-line information.",
}

MISSING_RULE = (
    "No total. Risk is judged from the answers given. Questions 3-5 are asked only after yes to 2 and "
    "question 6b only after yes to 6; skipped questions are not missing. Behaviour without its recency "
    "counts as recent (high risk) until 6b is asked."
)


def _ideation_severity(answers: Answers) -> int | None:
    """The highest ideation level answered yes (1 wish to be dead … 5 plan and intent), 0 for none."""
    asked = [answers.get(f"cssrs_{level}") for level in range(1, 6)]
    if all(answer is None for answer in asked):
        return None
    return max((level for level, answer in enumerate(asked, start=1) if answer is True), default=0)


def score(answers: Answers, options: Options) -> Score:
    """Risk level and triage action from the answer pattern."""
    missing = tuple(item.code for item in ITEMS if is_enabled(item, answers) and item.code not in answers)
    yes = {code for code, answer in answers.items() if answer is True}
    behaviour = answers.get("cssrs_6")
    recent = answers.get("cssrs_6b")
    flags: list[Flag] = []

    risk: str | None
    if "cssrs_4" in yes or "cssrs_5" in yes or (behaviour is True and recent is not False):
        risk = "high"
        if behaviour is True and recent is None:
            flags.append(
                Flag(
                    "behaviour_recency_unknown",
                    "Suicidal behaviour reported without saying when: treated as within 3 months.",
                    "warning",
                )
            )
    elif "cssrs_3" in yes or behaviour is True:
        risk = "moderate"
    elif "cssrs_1" in yes or "cssrs_2" in yes:
        risk = "low"
    elif any(isinstance(answer, bool) for answer in answers.values()):
        risk = "none"
    else:
        risk = None

    if risk in ("high", "moderate"):
        flags.insert(0, Flag("suicidality", f"C-SSRS screen: {risk} risk. {ACTIONS[risk]}", "critical"))
    elif risk == "low":
        flags.insert(0, Flag("suicidality", f"C-SSRS screen: low risk. {ACTIONS['low']}", "warning"))
    if missing and risk is not None:
        flags.append(
            Flag(
                "incomplete",
                f"Not answered: {', '.join(missing)}. The risk may be higher than shown.",
                "warning",
            )
        )

    asked = sum(1 for item in ITEMS if is_enabled(item, answers))
    if risk is None:
        applied = "no risk level: no question answered"
    elif missing:
        applied = f"risk from {asked - len(missing)} of {asked} questions asked; {len(missing)} unanswered"
    else:
        applied = f"all {asked} questions asked were answered"
    return Score(
        instrument=CODE,
        scorer_version=SCORER_VERSION,
        total=None,
        complete=not missing,
        missing_rule_applied=applied,
        items_missing=missing,
        flags=tuple(flags),
        risk_level=risk,
        action=ACTIONS[risk] if risk is not None else None,
        details={
            "ideation_severity": _ideation_severity(answers),
            "behaviour_ever": behaviour if isinstance(behaviour, bool) else None,
            "behaviour_past_3_months": recent if isinstance(recent, bool) else None,
        },
    )


INSTRUMENT = Instrument(
    code=CODE,
    name="Columbia Suicide Severity Rating Scale, screener (C-SSRS Screener)",
    version="screen-triage",
    edition="C-SSRS Screen Version, since last visit / past month, with triage points",
    recall_period="past month (questions 1-5); ever, and within the past 3 months (question 6)",
    licence=(
        "Free to use for clinical and research purposes (The Columbia Lighthouse Project); "
        "keep the questions as worded."
    ),
    instructions="Ask questions 1 and 2. If yes to 2, ask 3, 4 and 5; if no to 2, go to question 6.",
    items=ITEMS,
    missing_rule=MISSING_RULE,
    respondents=("staff", "patient"),
    scorer=score,
    scorer_version=SCORER_VERSION,
    sources=(
        "Posner K et al. Am J Psychiatry 2011;168(12):1266-1277.",
        "Columbia Lighthouse Project, C-SSRS Screener with triage points.",
        "Clinical reference §5.4 (questions, skip, risk by answer pattern).",
    ),
)
