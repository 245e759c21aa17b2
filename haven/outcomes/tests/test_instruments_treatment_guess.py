"""Treatment guess: the structured answer (no score), the study's arms as a setting, respondents."""

from __future__ import annotations

import pytest

from haven.outcomes import instruments
from haven.outcomes.instruments import InstrumentAnswerError

GUESS = {
    "treatment_guess_respondent": "rater",
    "treatment_guess_arm": "placebo",
    "treatment_guess_confidence": 70,
    "treatment_guess_reason": "No change in affect during the interview.",
}


def test_a_guess_is_recorded_not_scored() -> None:
    score = instruments.score("treatment_guess", GUESS)
    assert score.total is None
    assert score.band is None
    assert score.complete
    assert dict(score.details) == {
        "respondent": "rater",
        "arm_guess": "placebo",
        "confidence": 70,
        "reason": "No change in affect during the interview.",
    }


def test_default_arms_are_active_placebo_and_dont_know() -> None:
    item = instruments.get("treatment_guess").item("treatment_guess_arm")
    assert item is not None
    assert [option.value for option in item.options or ()] == ["active", "placebo", "dont_know"]
    assert instruments.validate("treatment_guess", {"treatment_guess_arm": "dont_know"}) == {}


def test_a_study_sets_its_own_arms_and_dont_know_is_always_offered() -> None:
    arms = [{"code": "psilocybin_25mg", "label": "Psilocybin 25 mg"}, "niacin"]
    answers = {**GUESS, "treatment_guess_arm": "niacin"}
    assert (
        instruments.score("treatment_guess", answers, options={"arms": arms}).details["arm_guess"] == "niacin"
    )
    assert instruments.validate(
        "treatment_guess", {"treatment_guess_arm": "placebo"}, options={"arms": arms}
    ) == {"treatment_guess_arm": ["must be one of psilocybin_25mg, niacin, dont_know"]}
    definition = instruments.definition("treatment_guess", options={"arms": arms})
    arm_item = next(item for item in definition["items"] if item["code"] == "treatment_guess_arm")
    assert [option["label"] for option in arm_item["options"]] == ["Psilocybin 25 mg", "niacin", "Don't know"]


@pytest.mark.parametrize(
    ("arms", "message"),
    [
        (["only_one"], "at least 2 choices"),
        ("active,placebo", "must be a non-empty list of choices"),
        (["Active", "placebo"], "choice 1: code must be lower-case letters, digits or _ (at most 40)"),
        (["active", "active"], "choice 2: code 'active' given twice"),
        ([{"code": "a", "label": " "}, "b"], "choice 1: label must be non-empty text"),
        ([3, "b"], "choice 1 must be a code or an object with code and label"),
    ],
)
def test_bad_arms_are_named(arms: object, message: str) -> None:
    with pytest.raises(InstrumentAnswerError) as raised:
        instruments.score("treatment_guess", GUESS, options={"arms": arms})
    assert message in raised.value.fields["options.arms"]


@pytest.mark.parametrize(
    ("confidence", "ok"), [(0, True), (100, True), (-1, False), (101, False), (50.5, False)]
)
def test_confidence_is_a_whole_number_from_0_to_100(confidence: object, ok: bool) -> None:
    errors = instruments.validate("treatment_guess", {"treatment_guess_confidence": confidence})
    assert (errors == {}) is ok


def test_respondents_are_participant_therapist_or_rater() -> None:
    for respondent in ("participant", "therapist", "rater"):
        assert instruments.validate("treatment_guess", {"treatment_guess_respondent": respondent}) == {}
    assert instruments.validate("treatment_guess", {"treatment_guess_respondent": "monitor"}) == {
        "treatment_guess_respondent": ["must be one of participant, therapist, rater"]
    }


def test_the_reason_is_optional_and_bounded() -> None:
    without = {key: value for key, value in GUESS.items() if key != "treatment_guess_reason"}
    assert instruments.score("treatment_guess", without).complete
    assert instruments.validate("treatment_guess", {"treatment_guess_reason": "x" * 2001}) == {
        "treatment_guess_reason": ["must be at most 2000 characters"]
    }


def test_a_guess_without_confidence_is_incomplete() -> None:
    answers = {key: value for key, value in GUESS.items() if key != "treatment_guess_confidence"}
    score = instruments.score("treatment_guess", answers)
    assert not score.complete
    assert score.items_missing == ("treatment_guess_confidence",)
    assert score.missing_rule_applied == "no score (a guess form); not answered: treatment_guess_confidence"
