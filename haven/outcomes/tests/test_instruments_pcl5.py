"""PCL-5: total, cluster severities, the DSM-5 rule, the configurable cut-point and the missing-item
rule (National Center for PTSD scoring guidance; clinical reference §5.1 with its test vectors)."""

from __future__ import annotations

import pytest

from haven.outcomes import instruments
from haven.outcomes.instruments import InstrumentAnswerError

ITEMS = [f"pcl5_{n}" for n in range(1, 21)]


def answers(**values: int) -> dict[str, int]:
    """All 20 items at 0, with the given items (by number, ``i5=3``) set."""
    result = dict.fromkeys(ITEMS, 0)
    for key, value in values.items():
        result[f"pcl5_{key.removeprefix('i')}"] = value
    return result


def spread(total: int) -> dict[str, int]:
    """Items filled from the top (4 each) until they reach ``total``."""
    left = total
    result: dict[str, int] = {}
    for code in ITEMS:
        result[code] = min(4, left)
        left -= result[code]
    return result


def test_reference_vector_all_items_at_2() -> None:
    score = instruments.score("pcl5", dict.fromkeys(ITEMS, 2))
    assert score.total == 40
    assert dict(score.subscores) == {"B": 10, "C": 4, "D": 14, "E": 12}
    assert score.details["dsm5_rule_positive"] is True
    assert score.details["above_cut_point"] is True
    assert {flag.code for flag in score.flags} == {"above_cut_point", "dsm5_rule_positive"}


def test_reference_vector_rule_positive_below_the_cut_point() -> None:
    # Clinical reference §5.1: B1, C6, D8, D9, E15, E16 at 4 → total 24, rule-positive, below 31.
    score = instruments.score("pcl5", answers(i1=4, i6=4, i8=4, i9=4, i15=4, i16=4))
    assert score.total == 24
    assert score.details["dsm5_rule_positive"] is True
    assert score.details["above_cut_point"] is False
    assert score.flag("above_cut_point") is None
    flag = score.flag("dsm5_rule_positive")
    assert flag is not None
    assert "below the cut-point 33" in flag.message


def test_extremes() -> None:
    assert instruments.score("pcl5", dict.fromkeys(ITEMS, 0)).total == 0
    worst = instruments.score("pcl5", dict.fromkeys(ITEMS, 4))
    assert worst.total == 80
    assert dict(worst.subscores) == {"B": 20, "C": 8, "D": 28, "E": 24}


@pytest.mark.parametrize(
    ("values", "positive"),
    [
        ({"i1": 2, "i6": 2, "i8": 2, "i9": 2, "i15": 2, "i16": 2}, True),  # exactly 1 B, 1 C, 2 D, 2 E
        ({"i1": 1, "i6": 2, "i8": 2, "i9": 2, "i15": 2, "i16": 2}, False),  # B item at 1 is not endorsed
        ({"i1": 2, "i6": 1, "i7": 1, "i8": 2, "i9": 2, "i15": 2, "i16": 2}, False),  # no C
        ({"i1": 2, "i6": 2, "i8": 2, "i15": 2, "i16": 2}, False),  # 1 D
        ({"i1": 2, "i6": 2, "i8": 2, "i9": 2, "i15": 2}, False),  # 1 E
        ({"i5": 3, "i7": 4, "i13": 2, "i14": 2, "i19": 3, "i20": 2}, True),  # last items of each cluster
    ],
)
def test_dsm5_rule_needs_1_b_1_c_2_d_2_e_at_2_or_more(values: dict[str, int], positive: bool) -> None:
    score = instruments.score("pcl5", answers(**values))
    assert score.details["dsm5_rule_positive"] is positive
    assert (score.flag("dsm5_rule_positive") is not None) is positive


@pytest.mark.parametrize(("total", "above"), [(32, False), (33, True), (34, True)])
def test_default_cut_point_is_33(total: int, above: bool) -> None:
    score = instruments.score("pcl5", spread(total))
    assert score.total == total
    assert score.details["cut_point"] == 33
    assert score.details["above_cut_point"] is above
    assert (score.flag("above_cut_point") is not None) is above


@pytest.mark.parametrize(("cut_point", "total", "above"), [(31, 30, False), (31, 31, True), (38, 37, False)])
def test_the_cut_point_is_a_setting(cut_point: int, total: int, above: bool) -> None:
    score = instruments.score("pcl5", spread(total), options={"cut_point": cut_point})
    assert score.details["cut_point"] == cut_point
    assert score.details["above_cut_point"] is above


@pytest.mark.parametrize("bad", [0, 81, "33", 33.0, True])
def test_a_bad_cut_point_is_named(bad: object) -> None:
    with pytest.raises(InstrumentAnswerError) as raised:
        instruments.score("pcl5", spread(10), options={"cut_point": bad})
    assert list(raised.value.fields) == ["options.cut_point"]


def test_two_missing_items_are_prorated() -> None:
    # 37 over 18 answered × 20 = 41.1 → 41.
    values = spread(37)
    del values["pcl5_19"], values["pcl5_20"]
    score = instruments.score("pcl5", values)
    assert score.total == 41
    assert score.items_missing == ("pcl5_19", "pcl5_20")
    assert score.missing_rule_applied == "prorated from 18 of 20 items; cluster E not scored (item missing)"
    assert set(score.subscores) == {"B", "C", "D"}
    assert not score.complete


def test_three_missing_items_give_no_score() -> None:
    values = dict.fromkeys(ITEMS[3:], 4)
    score = instruments.score("pcl5", values)
    assert score.total is None
    assert score.details["above_cut_point"] is None
    assert score.missing_rule_applied == "no score: 3 items missing"
    assert score.flag("above_cut_point") is None


def test_the_rule_is_decided_despite_missing_items_when_they_cannot_change_it() -> None:
    values = dict.fromkeys(ITEMS, 2)
    del values["pcl5_1"], values["pcl5_20"]
    assert instruments.score("pcl5", values).details["dsm5_rule_positive"] is True
    negative = answers()
    del negative["pcl5_1"]
    assert instruments.score("pcl5", negative).details["dsm5_rule_positive"] is False


def test_the_rule_is_undecided_when_missing_items_could_decide_it() -> None:
    values = answers(i1=2, i6=2, i8=2, i9=2, i15=2)
    del values["pcl5_16"]
    score = instruments.score("pcl5", values)
    assert score.details["dsm5_rule_positive"] is None
    assert score.flag("dsm5_rule_positive") is None


def test_answers_outside_0_to_4_are_refused() -> None:
    assert instruments.validate("pcl5", {"pcl5_20": 5}) == {"pcl5_20": ["must be one of 0, 1, 2, 3, 4"]}
