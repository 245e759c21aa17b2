"""SUDS, the Subjective Units of Distress Scale: one rating of distress right now, 0-10.

Sources
-------
- Wolpe J. The Practice of Behavior Therapy. New York: Pergamon; 1969 (the scale, originally 0-100).
- Clinical reference §1.2 and §1.4: rated during dosing sessions; discharge needs SUDS at or below
  the pre-session baseline [V, MAPS treatment manual]. The 0-10 form used here is the one the
  session room asks for; anchors vary between manuals [U].

There are no bands: a SUDS rating means something against the same person's baseline.

Missing items: no score when the rating is not given.
"""

from __future__ import annotations

from haven.outcomes.instruments.base import Answers, Instrument, Item, Options, Score

CODE = "suds"
SCORER_VERSION = "1"
ITEM = "suds_rating"

MISSING_RULE = "No score when the rating is not given."


def score(answers: Answers, options: Options) -> Score:
    """The rating itself is the score."""
    rating = answers.get(ITEM)
    value = rating if isinstance(rating, int) and not isinstance(rating, bool) else None
    return Score(
        instrument=CODE,
        scorer_version=SCORER_VERSION,
        total=value,
        complete=value is not None,
        missing_rule_applied="rating given" if value is not None else "no score: rating missing",
        items_missing=() if value is not None else (ITEM,),
    )


INSTRUMENT = Instrument(
    code=CODE,
    name="Subjective Units of Distress Scale (SUDS)",
    version="0-10",
    edition="SUDS 0-10",
    recall_period="right now",
    licence="Public domain (Wolpe 1969); the wording here is Haven's.",
    items=(
        Item(
            ITEM,
            "Distress",
            "How much distress or discomfort do you feel right now, from 0 (none at all, completely calm) "
            "to 10 (the worst you can imagine)?",
            kind="integer",
            minimum=0,
            maximum=10,
        ),
    ),
    missing_rule=MISSING_RULE,
    respondents=("patient",),
    scorer=score,
    scorer_version=SCORER_VERSION,
    sources=("Wolpe J. The Practice of Behavior Therapy. Pergamon, 1969.", "Clinical reference §1.2, §1.4."),
    total_range=(0, 10),
)
