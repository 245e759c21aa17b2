"""CAPS-5 past month: total severity 0-80, clusters, the diagnostic rule with criteria A, F and G
entered, the dissociative subtype, and no score with a severity missing (clinical reference §5.5;
Weathers et al. 2018, Psychol Assess 30:383-395)."""

from __future__ import annotations

import pytest

from haven.outcomes import instruments
from haven.outcomes.instruments.caps5_past_month import SYMPTOM_CODES

ENTERED: dict[str, object] = {"caps5_criterion_a": True, "caps5_criterion_f": True, "caps5_criterion_g": True}
# Exactly the minimum: 1 B, 1 C, 2 D, 2 E at severity 2.
MINIMUM: dict[str, object] = {code: 0 for code in SYMPTOM_CODES}
MINIMUM |= {
    "caps5_b1": 2,
    "caps5_c1": 2,
    "caps5_d1": 2,
    "caps5_d2": 2,
    "caps5_e1": 2,
    "caps5_e2": 2,
}


def test_twenty_symptom_items_make_the_total() -> None:
    assert len(SYMPTOM_CODES) == 20
    worst = instruments.score("caps5_past_month", dict.fromkeys(SYMPTOM_CODES, 4) | ENTERED)
    assert worst.total == 80
    assert dict(worst.subscores) == {"B": 20, "C": 8, "D": 28, "E": 24}
    assert instruments.score("caps5_past_month", dict.fromkeys(SYMPTOM_CODES, 0) | ENTERED).total == 0


def test_the_minimum_pattern_with_a_f_g_is_a_diagnosis() -> None:
    score = instruments.score("caps5_past_month", MINIMUM | ENTERED)
    assert score.total == 12
    assert score.diagnosis is True
    assert score.details["criterion_b"] is True
    assert score.details["cluster_d_present"] == 2
    assert score.complete


@pytest.mark.parametrize(
    ("item", "value"), [("caps5_b1", 1), ("caps5_c1", 1), ("caps5_d2", 1), ("caps5_e2", 1)]
)
def test_one_symptom_short_in_any_cluster_is_no_diagnosis(item: str, value: int) -> None:
    score = instruments.score("caps5_past_month", MINIMUM | ENTERED | {item: value})
    assert score.diagnosis is False
    cluster = item.removeprefix("caps5_")[0]
    assert score.details[f"criterion_{cluster}"] is False


@pytest.mark.parametrize("criterion", ["caps5_criterion_a", "caps5_criterion_f", "caps5_criterion_g"])
def test_criterion_a_f_or_g_not_met_is_no_diagnosis(criterion: str) -> None:
    assert instruments.score("caps5_past_month", MINIMUM | ENTERED | {criterion: False}).diagnosis is False


@pytest.mark.parametrize("criterion", ["caps5_criterion_a", "caps5_criterion_f", "caps5_criterion_g"])
def test_criterion_a_f_or_g_not_entered_leaves_the_diagnosis_undecided(criterion: str) -> None:
    answers = MINIMUM | ENTERED
    del answers[criterion]
    score = instruments.score("caps5_past_month", answers)
    assert score.diagnosis is None
    assert score.total == 12
    assert not score.complete
    assert score.items_missing == (criterion,)
    assert f"criterion {criterion[-1].upper()} not entered" in score.missing_rule_applied


def test_clusters_not_met_decide_the_diagnosis_even_before_a_f_g() -> None:
    score = instruments.score("caps5_past_month", dict.fromkeys(SYMPTOM_CODES, 1))
    assert score.total == 20
    assert score.diagnosis is False
    assert score.dissociative_subtype is False


@pytest.mark.parametrize(
    ("depersonalization", "derealization", "subtype"),
    [
        (2, 0, True),
        (0, 2, True),
        (4, 4, True),
        (1, 1, False),
        (None, 1, None),
        (None, None, None),
        (None, 3, True),
    ],
)
def test_dissociative_subtype(
    depersonalization: int | None, derealization: int | None, subtype: bool | None
) -> None:
    answers = (
        MINIMUM
        | ENTERED
        | {"caps5_depersonalization": depersonalization, "caps5_derealization": derealization}
    )
    assert instruments.score("caps5_past_month", answers).dissociative_subtype is subtype


def test_no_subtype_without_the_diagnosis() -> None:
    answers = MINIMUM | ENTERED | {"caps5_criterion_g": False, "caps5_depersonalization": 4}
    score = instruments.score("caps5_past_month", answers)
    assert (score.diagnosis, score.dissociative_subtype) == (False, False)


def test_a_missing_severity_gives_no_score_and_no_diagnosis() -> None:
    answers = MINIMUM | ENTERED
    del answers["caps5_e6"]
    score = instruments.score("caps5_past_month", answers)
    assert (score.total, score.diagnosis, score.dissociative_subtype) == (None, None, None)
    assert dict(score.subscores) == {}
    assert score.missing_rule_applied == "no score: 1 item missing"
    assert score.items_missing == ("caps5_e6",)


def test_severities_are_0_to_4_and_criteria_yes_or_no() -> None:
    assert instruments.validate(
        "caps5_past_month", {"caps5_b1": 5, "caps5_d7": -1, "caps5_criterion_a": 1, "caps5_derealization": 9}
    ) == {
        "caps5_b1": ["must be a whole number from 0 to 4"],
        "caps5_d7": ["must be a whole number from 0 to 4"],
        "caps5_criterion_a": ["must be true (yes) or false (no)"],
        "caps5_derealization": ["must be a whole number from 0 to 4"],
    }


def test_the_0_to_136_range_of_caps_iv_is_not_used() -> None:
    assert instruments.get("caps5_past_month").total_range == (0, 80)
