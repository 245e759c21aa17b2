"""Treatment guess: which arm a participant, a therapist or a blinded rater believes was given.

Not a scale: there is no score, only the structured answer (the guess, confidence 0-100 and a
reason), which a blinding analysis (for example a Bang or James blinding index) takes by arm and by
respondent.

Sources
-------
- Clinical reference §2.2 (FDA concern: functional unblinding and expectancy): a treatment-guess
  questionnaire for the participant, each therapist and the independent rater, after each
  experimental session and at the endpoint: guess + confidence (0-100) + reason. The blinding
  indices named there are [U].
- Clinical reference §1.7: about 90% of MDMA and 75% of placebo participants guessed their arm
  correctly in the Phase 3 programme [V2], the reason this form exists.

Settings: ``arms``, the study's arms to choose from (default "active" and "placebo"); "Don't know"
is always offered.

Missing items: no score ever. The form is complete when the respondent, the guess and the
confidence are answered; the reason is optional.
"""

from __future__ import annotations

from dataclasses import replace

from haven.outcomes.instruments.base import (
    AnswerOption,
    Answers,
    Instrument,
    Item,
    Options,
    OptionSpec,
    Score,
)

CODE = "treatment_guess"
SCORER_VERSION = "1"
DONT_KNOW = AnswerOption("dont_know", "Don't know")
DEFAULT_ARMS = (AnswerOption("active", "Active treatment"), AnswerOption("placebo", "Placebo"))
RESPONDENT, ARM, CONFIDENCE, REASON = (
    "treatment_guess_respondent",
    "treatment_guess_arm",
    "treatment_guess_confidence",
    "treatment_guess_reason",
)
REQUIRED = (RESPONDENT, ARM, CONFIDENCE)
REASON_MAX_LENGTH = 2000

ITEMS = (
    Item(
        RESPONDENT,
        "Respondent",
        "Who is answering?",
        options=(
            AnswerOption("participant", "The participant"),
            AnswerOption("therapist", "A therapist"),
            AnswerOption("rater", "A blinded rater"),
        ),
    ),
    Item(
        ARM,
        "Guess",
        "Which treatment do you believe the participant received? (Participants: which did you receive?)",
        options=(*DEFAULT_ARMS, DONT_KNOW),
    ),
    Item(
        CONFIDENCE,
        "Confidence",
        "How confident are you in this guess, from 0 (not at all) to 100 (completely certain)?",
        kind="integer",
        minimum=0,
        maximum=100,
    ),
    Item(
        REASON,
        "Reason",
        "What makes you think so?",
        kind="text",
        max_length=REASON_MAX_LENGTH,
        required=False,
    ),
)

MISSING_RULE = (
    "No score: the form records a guess. Complete when the respondent, the guess and the confidence "
    "are answered; the reason is optional."
)


def _with_arms(items: tuple[Item, ...], options: Options) -> tuple[Item, ...]:
    arms = options.get("arms", DEFAULT_ARMS)
    if isinstance(arms, int):
        raise TypeError("arms must be resolved to answer options")
    choices = (*(arm for arm in arms if arm.value != DONT_KNOW.value), DONT_KNOW)
    return tuple(replace(item, options=choices) if item.code == ARM else item for item in items)


def score(answers: Answers, options: Options) -> Score:
    """The structured guess; ``total`` is always None."""
    missing = tuple(code for code in REQUIRED if code not in answers)
    confidence = answers.get(CONFIDENCE)
    reason = answers.get(REASON)
    return Score(
        instrument=CODE,
        scorer_version=SCORER_VERSION,
        total=None,
        complete=not missing,
        missing_rule_applied=(
            "no score (a guess form); complete"
            if not missing
            else f"no score (a guess form); not answered: {', '.join(missing)}"
        ),
        items_missing=missing,
        details={
            "respondent": _text(answers.get(RESPONDENT)),
            "arm_guess": _text(answers.get(ARM)),
            "confidence": confidence if isinstance(confidence, int) else None,
            "reason": _text(reason),
        },
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


INSTRUMENT = Instrument(
    code=CODE,
    name="Treatment guess (blinding assessment)",
    version="1",
    edition="Haven treatment-guess form 1",
    recall_period="now",
    licence="Haven's own form (AGPL-3.0-or-later, like the rest of Haven).",
    instructions="Give your best guess even if you are unsure, then say how confident you are.",
    items=ITEMS,
    missing_rule=MISSING_RULE,
    respondents=("patient", "staff", "rater"),
    scorer=score,
    scorer_version=SCORER_VERSION,
    sources=("Clinical reference §2.2 (functional unblinding: guess, confidence 0-100, reason).",),
    options=(
        OptionSpec(
            "arms",
            "The study's arms to choose from, as codes or {code, label} objects (2 to 10); "
            '"Don\'t know" is always added. Default: active, placebo.',
            "choices",
            DEFAULT_ARMS,
            minimum=2,
            maximum=10,
        ),
    ),
    items_hook=_with_arms,
)
