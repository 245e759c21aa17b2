"""SUDS: one rating 0-10, which is its own score; nothing else is accepted."""

from __future__ import annotations

import pytest

from haven.outcomes import instruments


@pytest.mark.parametrize("rating", [0, 5, 10])
def test_the_rating_is_the_score(rating: int) -> None:
    score = instruments.score("suds", {"suds_rating": rating})
    assert (score.total, score.complete, score.band) == (rating, True, None)
    assert score.missing_rule_applied == "rating given"


@pytest.mark.parametrize("bad", [-1, 11, 100, 5.5, "5", True])
def test_ratings_outside_0_to_10_are_refused(bad: object) -> None:
    assert list(instruments.validate("suds", {"suds_rating": bad})) == ["suds_rating"]


def test_no_rating_is_no_score() -> None:
    score = instruments.score("suds", {"suds_rating": None})
    assert (score.total, score.complete) == (None, False)
    assert score.missing_rule_applied == "no score: rating missing"
    assert score.items_missing == ("suds_rating",)
