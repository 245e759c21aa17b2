"""GAD-7: total, every band edge (Spitzer et al. 2006, Arch Intern Med 166:1092-1097, cut-points
5, 10, 15; clinical reference §5.3) and the missing-item rule."""

from __future__ import annotations

import pytest

from haven.outcomes import instruments

ITEMS = [f"gad7_{n}" for n in range(1, 8)]


def answers_for(total: int) -> dict[str, int]:
    left = total
    answers: dict[str, int] = {}
    for code in ITEMS:
        answers[code] = min(3, left)
        left -= answers[code]
    assert left == 0
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_band_edges(total: int, band: str) -> None:
    score = instruments.score("gad7", answers_for(total))
    assert (score.total, score.band, score.complete) == (total, band, True)


def test_one_missing_item_is_prorated_half_up() -> None:
    # 9 over 6 answered × 7 = 10.5 → 11 (half-even would give 10).
    answers = {"gad7_1": 3, "gad7_2": 3, "gad7_3": 3, "gad7_4": 0, "gad7_5": 0, "gad7_6": 0}
    score = instruments.score("gad7", answers)
    assert score.total == 11
    assert score.band == "moderate"
    assert score.missing_rule_applied == "prorated from 6 of 7 items"
    assert score.items_missing == ("gad7_7",)
    assert not score.complete


def test_two_missing_items_give_no_score() -> None:
    score = instruments.score("gad7", dict.fromkeys(ITEMS[:5], 2))
    assert (score.total, score.band) == (None, None)
    assert score.missing_rule_applied == "no score: 2 items missing"


def test_the_difficulty_question_is_not_summed() -> None:
    score = instruments.score("gad7", {**answers_for(6), "gad7_difficulty": 2})
    assert score.total == 6
    assert score.details["difficulty"] == 2


def test_answers_outside_0_to_3_are_refused() -> None:
    assert instruments.validate("gad7", {"gad7_7": 4}) == {"gad7_7": ["must be one of 0, 1, 2, 3"]}


def test_loinc_codes() -> None:
    gad7 = instruments.get("gad7")
    assert (gad7.loinc_panel, gad7.loinc_total) == ("69737-5", "70274-6")
    assert [item.loinc for item in gad7.items[:7]] == [
        "69725-0",
        "68509-9",
        "69733-4",
        "69734-2",
        "69735-9",
        "69689-8",
        "69736-7",
    ]
