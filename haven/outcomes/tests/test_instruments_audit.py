"""AUDIT: scoring of items 1-8 (0-4) and 9-10 (0, 2, 4), the four WHO zones at every edge
(Babor et al. 2001, WHO/MSD/MSB/01.6a, risk levels and interventions [U]) and no score when any
item is missing."""

from __future__ import annotations

import pytest

from haven.outcomes import instruments
from haven.outcomes.instruments.audit import ACTIONS

ITEMS = [f"audit_{n}" for n in range(1, 11)]


def answers_for(total: int) -> dict[str, int]:
    """Items 9-10 (0/2/4) first, then items 1-8, until they reach ``total``."""
    left = total
    answers = dict.fromkeys(ITEMS, 0)
    for code in ("audit_9", "audit_10"):
        answers[code] = min(4, left - left % 2)
        left -= answers[code]
    for code in ITEMS[:8]:
        answers[code] = min(4, left)
        left -= answers[code]
    assert left == 0
    return answers


@pytest.mark.parametrize(
    ("total", "zone"),
    [
        (0, "zone_i"),
        (7, "zone_i"),
        (8, "zone_ii"),
        (15, "zone_ii"),
        (16, "zone_iii"),
        (19, "zone_iii"),
        (20, "zone_iv"),
        (40, "zone_iv"),
    ],
)
def test_zone_edges(total: int, zone: str) -> None:
    score = instruments.score("audit", answers_for(total))
    assert score.total == total
    assert score.band == zone
    assert score.action == ACTIONS[zone]
    assert (score.flag("alcohol_risk") is not None) is (zone in ("zone_iii", "zone_iv"))


def test_items_9_and_10_score_0_2_or_4_only() -> None:
    for value in (1, 3):
        assert instruments.validate("audit", {"audit_9": value, "audit_10": value}) == {
            "audit_9": ["must be one of 0, 2, 4"],
            "audit_10": ["must be one of 0, 2, 4"],
        }
    score = instruments.score("audit", {**dict.fromkeys(ITEMS, 0), "audit_9": 2, "audit_10": 4})
    assert score.total == 6


def test_items_1_to_8_score_0_to_4() -> None:
    assert instruments.validate("audit", {"audit_2": 4}) == {}
    assert instruments.validate("audit", {"audit_2": 5}) == {"audit_2": ["must be one of 0, 1, 2, 3, 4"]}


def test_any_missing_item_gives_no_score() -> None:
    answers = answers_for(20)
    del answers["audit_10"]
    score = instruments.score("audit", answers)
    assert (score.total, score.band, score.action) == (None, None, None)
    assert score.missing_rule_applied == "no score: 1 item missing"
    assert score.items_missing == ("audit_10",)
