"""PHQ-9: total, every band edge (Kroenke, Spitzer & Williams 2001, J Gen Intern Med 16:606-613,
the severity table; clinical reference §5.2), the item 9 flag and the missing-item rule."""

from __future__ import annotations

import pytest

from haven.outcomes import instruments

ITEMS = [f"phq9_{n}" for n in range(1, 10)]


def answers_for(total: int, *, item9: int = 0) -> dict[str, int]:
    """Items 1-8 filled from the top (3 each) until they reach ``total`` less item 9."""
    left = total - item9
    answers: dict[str, int] = {}
    for code in ITEMS[:8]:
        answers[code] = min(3, left)
        left -= answers[code]
    assert left == 0
    answers["phq9_9"] = item9
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "none_minimal"),
        (4, "none_minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (24, "severe"),
    ],
)
def test_band_edges(total: int, band: str) -> None:
    score = instruments.score("phq9", answers_for(total))
    assert score.total == total
    assert score.band == band
    assert score.complete
    assert score.missing_rule_applied == "all 9 items answered"


def test_the_maximum_is_27_and_severe() -> None:
    score = instruments.score("phq9", dict.fromkeys(ITEMS, 3))
    assert (score.total, score.band, score.band_label) == (27, "severe", "Severe depression")


def test_item9_at_zero_raises_no_flag() -> None:
    assert instruments.score("phq9", answers_for(20, item9=0)).flags == ()


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_any_positive_item9_is_a_critical_suicidality_flag_whatever_the_total(item9: int) -> None:
    score = instruments.score("phq9", answers_for(item9, item9=item9))
    assert (score.total, score.band) == (item9, "none_minimal")
    flag = score.flag("suicidality")
    assert flag is not None
    assert flag.severity == "critical"
    assert "Item 9" in flag.message


def test_item9_unanswered_is_flagged_and_prorated() -> None:
    answers = answers_for(16)
    del answers["phq9_9"]
    score = instruments.score("phq9", answers)
    assert score.total == 18  # 16 over 8 items × 9 = 18.0
    assert score.missing_rule_applied == "prorated from 8 of 9 items"
    assert score.items_missing == ("phq9_9",)
    assert not score.complete
    flag = score.flag("item9_missing")
    assert flag is not None
    assert flag.severity == "warning"


def test_one_missing_item_is_prorated_and_rounded_half_up() -> None:
    # 4 over 8 answered × 9 = 4.5 → 5 (half up; half-even would give 4 and the band "none").
    answers = {"phq9_1": 1, "phq9_2": 1, "phq9_3": 1, "phq9_5": 1, "phq9_6": 0, "phq9_7": 0, "phq9_8": 0}
    answers["phq9_9"] = 0
    score = instruments.score("phq9", answers)
    assert score.total == 5
    assert score.band == "mild"
    assert score.items_missing == ("phq9_4",)


def test_two_missing_items_give_no_score_and_say_so() -> None:
    answers = dict.fromkeys(ITEMS[:7], 3)
    score = instruments.score("phq9", answers)
    assert score.total is None
    assert score.band is None
    assert score.missing_rule_applied == "no score: 2 items missing"
    assert score.items_missing == ("phq9_8", "phq9_9")


def test_the_difficulty_question_is_recorded_not_summed() -> None:
    score = instruments.score("phq9", {**answers_for(10), "phq9_difficulty": 3})
    assert score.total == 10
    assert score.details["difficulty"] == 3


def test_the_missing_rule_is_stated_on_the_instrument() -> None:
    assert "at most 1 of the 9" in instruments.get("phq9").missing_rule


def test_loinc_codes_of_the_panel_total_and_item9() -> None:
    phq9 = instruments.get("phq9")
    assert (phq9.loinc_panel, phq9.loinc_total) == ("44249-1", "44261-6")
    item9 = phq9.item("phq9_9")
    assert item9 is not None
    assert item9.loinc == "44260-8"
    assert [option.loinc_answer for option in item9.options or ()] == [
        "LA6568-5",
        "LA6569-3",
        "LA6570-1",
        "LA6571-9",
    ]
