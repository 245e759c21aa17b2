"""CAPS-5, the Clinician-Administered PTSD Scale for DSM-5, past-month version.

Licensed instrument: shipped as item codes and scoring rules only, without the interview's prompts,
items or rating anchors. The interviewer rates each symptom's severity 0-4 from frequency and
intensity with the CAPS-5 rules and enters the severity here; Haven does not re-derive it.

Sources
-------
- Weathers FW, Blake DD, Schnurr PP, Kaloupek DG, Marx BP, Keane TM. The Clinician-Administered PTSD
  Scale for DSM-5 (CAPS-5), past month version, 1 May 2015. National Center for PTSD.
- Weathers FW, Bovin MJ, Lee DJ, et al. The Clinician-Administered PTSD Scale for DSM-5 (CAPS-5):
  development and initial psychometric evaluation in military veterans. Psychol Assess
  2018;30(3):383-395.
- Clinical reference §5.5: severity 0-4 and "present" at 2 or more [V]; total = sum of the 20
  symptom items B1-B5, C1-C2, D1-D7, E1-E6, 0-80 (not 0-136, a CAPS-IV carry-over) [V]; diagnosis =
  criterion A + at least 1 B, 1 C, 2 D, 2 E + F (duration over a month) + G (distress or impairment)
  [V]; dissociative subtype when the diagnosis is met and either dissociative item meets criterion
  (severity 2 or more) [V]; criterion H and the item numbering of the other items [U], not modelled.
  Licensing terms (distributed on request to qualified clinicians) [U].

The diagnosis uses three-valued logic: it is False as soon as one part is known to fail (criterion A
entered as not met, or a cluster not met), True when every part is met, and None while a part that
could still decide it (A, F or G) has not been entered.

Missing items: no score when any of the 20 symptom severities is missing (a clinician interview
rates every item); clusters and the diagnosis are then not judged either.
"""

from __future__ import annotations

from haven.outcomes.instruments.base import Answers, Instrument, Item, Options, Score
from haven.outcomes.instruments.rules import complete_sum, item_values

CODE = "caps5_past_month"
SCORER_VERSION = "1"
PRESENT = 2  # Severity 2 ("moderate/threshold") or more: the symptom counts.

CLUSTERS: dict[str, tuple[str, ...]] = {
    "B": tuple(f"caps5_b{n}" for n in range(1, 6)),
    "C": tuple(f"caps5_c{n}" for n in range(1, 3)),
    "D": tuple(f"caps5_d{n}" for n in range(1, 8)),
    "E": tuple(f"caps5_e{n}" for n in range(1, 7)),
}
CLUSTER_NEEDS = {"B": 1, "C": 1, "D": 2, "E": 2}
SYMPTOM_CODES = tuple(code for codes in CLUSTERS.values() for code in codes)
CRITERIA = {
    "A": "caps5_criterion_a",
    "F": "caps5_criterion_f",
    "G": "caps5_criterion_g",
}
DISSOCIATION = ("caps5_depersonalization", "caps5_derealization")

MISSING_RULE = (
    "No score when any of the 20 symptom severities is missing (clinician interview: every item is "
    "rated). The diagnosis needs criteria A, F and G entered; it stays undecided without them."
)


def _severity_item(code: str) -> Item:
    name = code.removeprefix("caps5_").upper()
    return Item(
        code,
        f"CAPS-5 item {name} severity, 0-4 (licensed; wording not included)",
        None,
        kind="integer",
        minimum=0,
        maximum=4,
    )


ITEMS = (
    *(_severity_item(code) for code in SYMPTOM_CODES),
    Item(
        CRITERIA["A"], "Criterion A met (trauma exposure), as judged by the clinician", None, kind="boolean"
    ),
    Item(CRITERIA["F"], "Criterion F met (duration more than 1 month)", None, kind="boolean"),
    Item(
        CRITERIA["G"], "Criterion G met (clinically significant distress or impairment)", None, kind="boolean"
    ),
    Item(
        DISSOCIATION[0],
        "CAPS-5 depersonalization severity, 0-4 (licensed; wording not included)",
        None,
        kind="integer",
        minimum=0,
        maximum=4,
        required=False,
    ),
    Item(
        DISSOCIATION[1],
        "CAPS-5 derealization severity, 0-4 (licensed; wording not included)",
        None,
        kind="integer",
        minimum=0,
        maximum=4,
        required=False,
    ),
)


def _and(*parts: bool | None) -> bool | None:
    """Kleene AND: False if any part is False, None if any is unknown, else True."""
    if any(part is False for part in parts):
        return False
    if any(part is None for part in parts):
        return None
    return True


def score(answers: Answers, options: Options) -> Score:
    """Total severity (0-80), cluster severities and criteria, diagnosis and dissociative subtype."""
    result = complete_sum(answers, SYMPTOM_CODES)
    criteria: dict[str, bool | None] = {}
    for letter, code in CRITERIA.items():
        value = answers.get(code)
        criteria[letter] = value if isinstance(value, bool) else None
    details: dict[str, int | str | bool | None] = {f"criterion_{k.lower()}": v for k, v in criteria.items()}

    subscores: dict[str, int] = {}
    diagnosis: bool | None = None
    subtype: bool | None = None
    if result.total is not None:
        values = item_values(answers, SYMPTOM_CODES)
        clusters_met = True
        for cluster, codes in CLUSTERS.items():
            subscores[cluster] = sum(values[code] for code in codes)
            present = sum(1 for code in codes if values[code] >= PRESENT)
            met = present >= CLUSTER_NEEDS[cluster]
            details[f"cluster_{cluster.lower()}_present"] = present
            details[f"criterion_{cluster.lower()}"] = met
            clusters_met = clusters_met and met
        diagnosis = _and(criteria["A"], clusters_met, criteria["F"], criteria["G"])
        dissociation = item_values(answers, DISSOCIATION)
        if diagnosis is False:
            subtype = False
        elif diagnosis is True:
            if any(value >= PRESENT for value in dissociation.values()):
                subtype = True
            elif len(dissociation) == len(DISSOCIATION):
                subtype = False
    missing = result.missing + tuple(code for code in CRITERIA.values() if code not in answers)
    applied = result.rule_applied
    undecided = [letter for letter, met in criteria.items() if met is None]
    if result.total is not None and undecided:
        applied += f"; criterion {', '.join(undecided)} not entered"
    return Score(
        instrument=CODE,
        scorer_version=SCORER_VERSION,
        total=result.total,
        complete=not missing,
        missing_rule_applied=applied,
        items_missing=missing,
        subscores=subscores,
        diagnosis=diagnosis,
        dissociative_subtype=subtype,
        details=details,
    )


INSTRUMENT = Instrument(
    code=CODE,
    name="Clinician-Administered PTSD Scale for DSM-5 (CAPS-5), past month",
    version="2015-05-01",
    edition="CAPS-5 past month version, 1 May 2015",
    recall_period="past month",
    licence=(
        "Licensed: distributed by the National Center for PTSD to qualified clinicians on request [U]. "
        "Interview wording, items and anchors are not included."
    ),
    items=ITEMS,
    missing_rule=MISSING_RULE,
    respondents=("rater",),
    scorer=score,
    scorer_version=SCORER_VERSION,
    sources=(
        "Weathers FW et al. CAPS-5 past month version, 1 May 2015. National Center for PTSD.",
        "Weathers FW et al. Psychol Assess 2018;30(3):383-395.",
        "Clinical reference §5.5 (severity, total 0-80, diagnosis A-G, dissociative subtype).",
    ),
    total_range=(0, 80),
)
