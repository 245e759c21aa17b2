"""PCL-5, the PTSD Checklist for DSM-5 (20 items, past month), standard form without Criterion A.

Sources
-------
- Weathers FW, Litz BT, Keane TM, Palmieri PA, Marx BP, Schnurr PP. The PTSD Checklist for DSM-5
  (PCL-5). National Center for PTSD, 2013 (public domain): the items and the 0-4 answers.
- National Center for PTSD, "Using the PTSD Checklist for DSM-5 (PCL-5)": total 0-80; cluster
  severities B = items 1-5, C = 6-7, D = 8-14, E = 15-20; provisional diagnosis by the DSM-5 rule
  (an item rated 2 "Moderately" or higher counts as endorsed; at least 1 B, 1 C, 2 D and 2 E);
  a cut-point of 31-33 for probable PTSD (older guidance proposed 38); no severity ranges.
- Blevins CA, Weathers FW, Davis MT, Witte TK, Domino JL. The PTSD Checklist for DSM-5 (PCL-5):
  development and initial psychometric evaluation. J Trauma Stress 2015;28(6):489-498.
- Clinical reference §5.1: all of the above [V]; LOINC panel 101697-1 and total 101698-9 [V2];
  item-level LOINC codes not retrieved, so none are encoded.

Settings: ``cut_point`` (default 33; National Center guidance is 31-33, a site may configure another).

Missing items (a product decision, after a common convention [U]: the PCL-5 guidance states no rule):
prorated when at most 2 of the 20 items are unanswered (mean of the answered items × 20, rounded
half up), else no score. A cluster with an unanswered item has no cluster severity. The DSM-5 rule is
decided from the answers when the missing items cannot change it, and left undecided otherwise.
"""

from __future__ import annotations

from haven.outcomes.instruments.base import (
    AnswerOption,
    Answers,
    Flag,
    Instrument,
    Item,
    Options,
    OptionSpec,
    Score,
)
from haven.outcomes.instruments.rules import cluster_sums, item_values, prorated_sum

CODE = "pcl5"
SCORER_VERSION = "1"
MAX_MISSING = 2
DEFAULT_CUT_POINT = 33
ENDORSED = 2  # "Moderately" or more counts as a symptom endorsed (DSM-5 rule).

ANSWERS = (
    AnswerOption(0, "Not at all"),
    AnswerOption(1, "A little bit"),
    AnswerOption(2, "Moderately"),
    AnswerOption(3, "Quite a bit"),
    AnswerOption(4, "Extremely"),
)

_TEXTS = (
    "Repeated, disturbing, and unwanted memories of the stressful experience?",
    "Repeated, disturbing dreams of the stressful experience?",
    "Suddenly feeling or acting as if the stressful experience were actually happening again (as if you "
    "were actually back there reliving it)?",
    "Feeling very upset when something reminded you of the stressful experience?",
    "Having strong physical reactions when something reminded you of the stressful experience (for "
    "example, heart pounding, trouble breathing, sweating)?",
    "Avoiding memories, thoughts, or feelings related to the stressful experience?",
    "Avoiding external reminders of the stressful experience (for example, people, places, "
    "conversations, activities, objects, or situations)?",
    "Trouble remembering important parts of the stressful experience?",
    "Having strong negative beliefs about yourself, other people, or the world (for example, having "
    "thoughts such as: I am bad, there is something seriously wrong with me, no one can be trusted, the "
    "world is completely dangerous)?",
    "Blaming yourself or someone else for the stressful experience or what happened after it?",
    "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
    "Loss of interest in activities that you used to enjoy?",
    "Feeling distant or cut off from other people?",
    "Trouble experiencing positive feelings (for example, being unable to feel happiness or have loving "
    "feelings for people close to you)?",
    "Irritable behavior, angry outbursts, or acting aggressively?",
    "Taking too many risks or doing things that could cause you harm?",
    "Being “superalert” or watchful or on guard?",
    "Feeling jumpy or easily startled?",
    "Having difficulty concentrating?",
    "Trouble falling or staying asleep?",
)

ITEM_CODES = tuple(f"pcl5_{number}" for number in range(1, 21))
CLUSTERS: dict[str, tuple[str, ...]] = {
    "B": ITEM_CODES[0:5],
    "C": ITEM_CODES[5:7],
    "D": ITEM_CODES[7:14],
    "E": ITEM_CODES[14:20],
}
# Endorsed items each cluster needs for the DSM-5 rule.
CLUSTER_NEEDS = {"B": 1, "C": 1, "D": 2, "E": 2}

MISSING_RULE = (
    "Prorated when at most 2 of the 20 items are unanswered (mean of the answered items × 20, rounded "
    "half up); no score when more are missing. Haven's rule after a common convention [U]; the PCL-5 "
    "guidance states none. A cluster with an unanswered item has no cluster severity."
)


def dsm5_rule(answers: Answers) -> bool | None:
    """The DSM-5 provisional diagnosis rule: True, False, or None when missing items could decide it.

    Each cluster is met when its endorsed items (≥ 2) reach the number it needs; it is unmet only
    when even the unanswered items, all endorsed, could not reach it.
    """
    verdict: bool | None = True
    for cluster, codes in CLUSTERS.items():
        values = item_values(answers, codes)
        endorsed = sum(1 for value in values.values() if value >= ENDORSED)
        unanswered = len(codes) - len(values)
        need = CLUSTER_NEEDS[cluster]
        if endorsed >= need:
            continue
        if endorsed + unanswered < need:
            return False
        verdict = None
    return verdict


def score(answers: Answers, options: Options) -> Score:
    """Total (0-80), cluster severities B-E, the DSM-5 rule and the cut-point flag."""
    cut_point = options.get("cut_point", DEFAULT_CUT_POINT)
    if not isinstance(cut_point, int):
        raise TypeError("cut_point must be resolved to an int")
    result = prorated_sum(answers, ITEM_CODES, max_missing=MAX_MISSING)
    rule = dsm5_rule(answers)
    above = None if result.total is None else result.total >= cut_point
    flags: list[Flag] = []
    if above:
        flags.append(
            Flag(
                "above_cut_point",
                f"Total {result.total} is at or above the cut-point {cut_point}: probable PTSD; "
                "confirm with a clinical interview (CAPS-5).",
                "warning",
            )
        )
    if rule:
        shown = "" if above else f" although the total is below the cut-point {cut_point}"
        flags.append(
            Flag(
                "dsm5_rule_positive",
                f"Symptoms meet the DSM-5 rule for a provisional PTSD diagnosis{shown}.",
                "warning",
            )
        )
    rule_applied = result.rule_applied
    skipped = [cluster for cluster in CLUSTERS if cluster not in cluster_sums(answers, CLUSTERS)]
    if skipped and result.total is not None:
        rule_applied += f"; cluster {', '.join(skipped)} not scored (item missing)"
    return Score(
        instrument=CODE,
        scorer_version=SCORER_VERSION,
        total=result.total,
        complete=result.complete,
        missing_rule_applied=rule_applied,
        items_missing=result.missing,
        subscores=cluster_sums(answers, CLUSTERS),
        flags=tuple(flags),
        details={"cut_point": cut_point, "above_cut_point": above, "dsm5_rule_positive": rule},
    )


INSTRUMENT = Instrument(
    code=CODE,
    name="PTSD Checklist for DSM-5 (PCL-5)",
    version="2013",
    edition="PCL-5 (Weathers et al. 2013), standard form without Criterion A, English",
    recall_period="past month",
    licence="Public domain (National Center for PTSD, U.S. Department of Veterans Affairs).",
    instructions=(
        "Below is a list of problems that people sometimes have in response to a very stressful experience. "
        "Please read each problem carefully and then select one of the answers to indicate how much you "
        "have been bothered by that problem in the past month."
    ),
    items=tuple(
        Item(code, f"Item {number}", text, options=ANSWERS)
        for number, (code, text) in enumerate(zip(ITEM_CODES, _TEXTS, strict=True), start=1)
    ),
    missing_rule=MISSING_RULE,
    respondents=("patient",),
    scorer=score,
    scorer_version=SCORER_VERSION,
    sources=(
        "Weathers FW et al. The PTSD Checklist for DSM-5 (PCL-5). National Center for PTSD, 2013.",
        "Blevins CA et al. J Trauma Stress 2015;28(6):489-498.",
        "Clinical reference §5.1 (clusters, DSM-5 rule, cut-point 31-33, LOINC).",
    ),
    loinc_panel="101697-1",
    loinc_total="101698-9",
    total_range=(0, 80),
    options=(
        OptionSpec(
            "cut_point",
            "Total at or above which the score is flagged as probable PTSD. National Center for PTSD "
            "guidance: 31-33 (older guidance: 38). Default 33.",
            "integer",
            DEFAULT_CUT_POINT,
            minimum=1,
            maximum=80,
        ),
    ),
)
