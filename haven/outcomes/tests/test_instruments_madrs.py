"""MADRS: ten items 0-6, total 0-60 (Montgomery & Åsberg 1979), the common bands at every edge
(clinical reference §4, [U]) and no score with an item missing."""

from __future__ import annotations

import pytest

from haven.outcomes import instruments

ITEMS = [f"madrs_{n}" for n in range(1, 11)]


def answers_for(total: int) -> dict[str, int]:
    left = total
    answers: dict[str, int] = {}
    for code in ITEMS:
        answers[code] = min(6, left)
        left -= answers[code]
    assert left == 0
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "normal"),
        (6, "normal"),
        (7, "mild"),
        (19, "mild"),
        (20, "moderate"),
        (34, "moderate"),
        (35, "severe"),
        (60, "severe"),
    ],
)
def test_band_edges(total: int, band: str) -> None:
    score = instruments.score("madrs", answers_for(total))
    assert (score.total, score.band, score.complete) == (total, band, True)


def test_items_are_0_to_6() -> None:
    assert instruments.validate("madrs", {"madrs_10": 7}) == {
        "madrs_10": ["must be a whole number from 0 to 6"]
    }
    assert instruments.validate("madrs", {"madrs_1": 6}) == {}


def test_any_missing_item_gives_no_score() -> None:
    answers = answers_for(30)
    del answers["madrs_4"]
    score = instruments.score("madrs", answers)
    assert (score.total, score.band) == (None, None)
    assert score.missing_rule_applied == "no score: 1 item missing"
    assert score.items_missing == ("madrs_4",)
