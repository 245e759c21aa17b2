"""C-SSRS screener: risk level and triage action for every answer pattern of the Columbia triage
(clinical reference §5.4), the skip logic (no to 2 → 6; 6b only after yes to 6), answers given
where the skip logic asks none, and partial screens."""

from __future__ import annotations

import pytest

from haven.outcomes import instruments
from haven.outcomes.instruments import InstrumentAnswerError
from haven.outcomes.instruments.cssrs_screener import ACTIONS

NO_TO_ALL = {"cssrs_1": False, "cssrs_2": False, "cssrs_6": False}
THOUGHTS = {
    "cssrs_1": True,
    "cssrs_2": True,
    "cssrs_3": False,
    "cssrs_4": False,
    "cssrs_5": False,
    "cssrs_6": False,
}


def test_no_to_every_question_asked_is_no_risk() -> None:
    score = instruments.score("cssrs_screener", NO_TO_ALL)
    assert score.risk_level == "none"
    assert score.action == ACTIONS["none"]
    assert score.flags == ()
    assert score.complete
    assert score.items_missing == ()  # 3-5 and 6b were not asked, so they are not missing
    assert score.missing_rule_applied == "all 3 questions asked were answered"
    assert score.details["ideation_severity"] == 0


@pytest.mark.parametrize(
    ("answers", "risk", "severity"),
    [
        ({**NO_TO_ALL, "cssrs_1": True}, "low", "warning"),
        (THOUGHTS, "low", "warning"),
        ({**THOUGHTS, "cssrs_3": True}, "moderate", "critical"),
        ({**THOUGHTS, "cssrs_4": True}, "high", "critical"),
        ({**THOUGHTS, "cssrs_5": True}, "high", "critical"),
        ({**NO_TO_ALL, "cssrs_6": True, "cssrs_6b": True}, "high", "critical"),
        ({**NO_TO_ALL, "cssrs_6": True, "cssrs_6b": False}, "moderate", "critical"),
        ({**THOUGHTS, "cssrs_3": True, "cssrs_6": True, "cssrs_6b": True}, "high", "critical"),
    ],
)
def test_risk_by_answer_pattern(answers: dict[str, bool], risk: str, severity: str) -> None:
    score = instruments.score("cssrs_screener", answers)
    assert score.risk_level == risk
    assert score.action == ACTIONS[risk]
    flag = score.flag("suicidality")
    assert flag is not None
    assert flag.severity == severity
    assert score.complete


@pytest.mark.parametrize(
    ("answers", "level"),
    [
        (NO_TO_ALL, 0),
        ({**NO_TO_ALL, "cssrs_1": True}, 1),
        (THOUGHTS, 2),
        ({**THOUGHTS, "cssrs_3": True}, 3),
        ({**THOUGHTS, "cssrs_3": True, "cssrs_4": True}, 4),
        ({**THOUGHTS, "cssrs_4": True, "cssrs_5": True}, 5),
    ],
)
def test_ideation_severity_is_the_highest_yes(answers: dict[str, bool], level: int) -> None:
    assert instruments.score("cssrs_screener", answers).details["ideation_severity"] == level


def test_behaviour_without_its_recency_counts_as_recent() -> None:
    score = instruments.score("cssrs_screener", {**NO_TO_ALL, "cssrs_6": True})
    assert score.risk_level == "high"
    assert score.flag("behaviour_recency_unknown") is not None
    assert score.items_missing == ("cssrs_6b",)
    assert not score.complete


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"cssrs_1": False, "cssrs_2": False, "cssrs_3": True, "cssrs_6": False}, "cssrs_3"),
        ({"cssrs_1": False, "cssrs_2": False, "cssrs_5": False, "cssrs_6": False}, "cssrs_5"),
        ({"cssrs_1": True, "cssrs_4": True}, "cssrs_4"),
        ({**NO_TO_ALL, "cssrs_6b": True}, "cssrs_6b"),
    ],
)
def test_questions_the_skip_logic_does_not_ask_cannot_be_answered(
    answers: dict[str, bool], field: str
) -> None:
    with pytest.raises(InstrumentAnswerError) as raised:
        instruments.score("cssrs_screener", answers)
    question = "cssrs_6" if field == "cssrs_6b" else "cssrs_2"
    assert raised.value.fields == {field: [f"not asked unless {question} is yes"]}


def test_answers_are_yes_or_no() -> None:
    assert instruments.validate("cssrs_screener", {"cssrs_1": "yes", "cssrs_2": 1}) == {
        "cssrs_1": ["must be true (yes) or false (no)"],
        "cssrs_2": ["must be true (yes) or false (no)"],
    }


def test_unanswered_follow_up_questions_are_missing_and_flagged() -> None:
    score = instruments.score("cssrs_screener", {"cssrs_1": True, "cssrs_2": True, "cssrs_6": False})
    assert score.risk_level == "low"
    assert score.items_missing == ("cssrs_3", "cssrs_4", "cssrs_5")
    assert score.missing_rule_applied == "risk from 3 of 6 questions asked; 3 unanswered"
    flag = score.flag("incomplete")
    assert flag is not None
    assert flag.severity == "warning"


def test_a_partial_screen_reports_what_was_answered() -> None:
    score = instruments.score("cssrs_screener", {"cssrs_1": False})
    assert score.risk_level == "none"
    assert not score.complete
    assert score.items_missing == ("cssrs_2", "cssrs_6")
    assert score.flag("incomplete") is not None


def test_nothing_answered_is_no_risk_level() -> None:
    score = instruments.score("cssrs_screener", {})
    assert (score.risk_level, score.action, score.total) == (None, None, None)
    assert score.missing_rule_applied == "no risk level: no question answered"


def test_risk_levels_use_the_screening_vocabulary() -> None:
    from haven.outcomes.instruments.cssrs_screener import RISK_LEVELS

    assert RISK_LEVELS == ("none", "low", "moderate", "high")
    assert set(ACTIONS) == set(RISK_LEVELS)
