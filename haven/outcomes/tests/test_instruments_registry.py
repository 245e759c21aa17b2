"""The instrument registry, answer validation and the shared scoring rules."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal

import pytest

from haven.outcomes import instruments
from haven.outcomes.instruments import InstrumentAnswerError, UnknownInstrument
from haven.outcomes.instruments.base import Band
from haven.outcomes.instruments.rules import check_bands, round_half_up

CODES = {
    "pcl5",
    "phq9",
    "gad7",
    "cssrs_screener",
    "audit",
    "treatment_guess",
    "suds",
    "caps5_past_month",
    "madrs",
}
LICENSED = {"caps5_past_month", "madrs"}
ITEM_PREFIX = {"cssrs_screener": "cssrs_", "caps5_past_month": "caps5_"}


def test_the_package_imports_no_django() -> None:
    probe = (
        "import sys, haven.outcomes.instruments\n"
        "loaded = sorted(name for name in sys.modules if name == 'django' or name.startswith('django.'))\n"
        "print(','.join(loaded))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_the_registry_holds_every_instrument_of_the_issue() -> None:
    assert set(instruments.INSTRUMENTS) == CODES
    for code, instrument in instruments.INSTRUMENTS.items():
        assert instrument.code == code
        assert instruments.get(code) is instrument


def test_an_unknown_code_is_an_unknown_instrument() -> None:
    with pytest.raises(UnknownInstrument) as raised:
        instruments.score("hamd17", {})
    assert raised.value.code == "hamd17"
    with pytest.raises(UnknownInstrument):
        instruments.get("PHQ9")


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_instrument_states_its_sources_licence_rule_and_recall(code: str) -> None:
    instrument = instruments.get(code)
    assert instrument.sources
    assert instrument.licence
    assert instrument.missing_rule
    assert instrument.recall_period
    assert instrument.respondents
    assert instrument.scorer_version
    # The version ends up in FHIR canonical references, which allow no whitespace.
    assert re.fullmatch(r"\S+", instrument.version)


@pytest.mark.parametrize("code", sorted(CODES))
def test_item_codes_are_unique_and_carry_the_instrument_prefix(code: str) -> None:
    instrument = instruments.get(code)
    codes = [item.code for item in instrument.items]
    assert len(codes) == len(set(codes))
    prefix = ITEM_PREFIX.get(code, f"{code}_")
    assert all(item_code.startswith(prefix) for item_code in codes)
    assert all(re.fullmatch(r"[a-z0-9_]+", item_code) for item_code in codes)


@pytest.mark.parametrize("code", sorted(CODES))
def test_licensed_instruments_ship_no_item_text(code: str) -> None:
    instrument = instruments.get(code)
    if code in LICENSED:
        assert not instrument.text_included
        assert all(item.text is None for item in instrument.items)
        assert all(item.options is None for item in instrument.items)
    else:
        assert instrument.text_included
        assert all(item.text for item in instrument.items)


@pytest.mark.parametrize("code", sorted(CODES))
def test_no_answers_is_a_score_with_the_rule_shown_never_an_error(code: str) -> None:
    score = instruments.score(code, {})
    assert score.instrument == code
    assert score.scorer_version == instruments.get(code).scorer_version
    assert score.total is None
    assert not score.complete
    assert score.missing_rule_applied
    assert score.items_missing


@pytest.mark.parametrize("code", sorted(CODES))
def test_the_definition_is_plain_json(code: str) -> None:
    definition = instruments.definition(code)
    assert json.loads(json.dumps(definition)) == definition
    assert definition["code"] == code
    assert [item["code"] for item in definition["items"]] == [
        item.code for item in instruments.get(code).items
    ]


def test_unknown_items_are_refused_by_name() -> None:
    errors = instruments.validate("phq9", {"phq9_1": 0, "phq9_10": 1, "gad7_1": 2})
    assert errors == {"phq9_10": ["unknown item for phq9"], "gad7_1": ["unknown item for phq9"]}


def test_a_value_outside_the_options_names_the_allowed_ones() -> None:
    assert instruments.validate("phq9", {"phq9_3": 4}) == {"phq9_3": ["must be one of 0, 1, 2, 3"]}
    assert instruments.validate("phq9", {"phq9_3": -1}) == {"phq9_3": ["must be one of 0, 1, 2, 3"]}


def test_numbers_sent_as_text_floats_and_booleans_are_refused() -> None:
    errors = instruments.validate("phq9", {"phq9_1": "2", "phq9_2": 2.0, "phq9_3": True, "phq9_4": [1]})
    assert errors == {
        "phq9_1": ["must be one of 0, 1, 2, 3 (a number, not text)"],
        "phq9_2": ["must be one of 0, 1, 2, 3"],
        "phq9_3": ["must be one of 0, 1, 2, 3"],
        "phq9_4": ["must be one of 0, 1, 2, 3"],
    }
    assert instruments.validate("suds", {"suds_rating": "5"}) == {
        "suds_rating": ["must be a whole number from 0 to 10 (a number, not text)"]
    }
    assert instruments.validate("suds", {"suds_rating": False}) == {
        "suds_rating": ["must be a whole number from 0 to 10"]
    }


def test_none_means_not_answered() -> None:
    assert instruments.validate("phq9", {"phq9_1": None}) == {}
    score = instruments.score("phq9", {**{f"phq9_{n}": 1 for n in range(1, 9)}, "phq9_9": None})
    assert score.items_missing == ("phq9_9",)


def test_missing_items_are_not_validation_errors() -> None:
    assert instruments.validate("pcl5", {"pcl5_1": 3}) == {}


def test_score_raises_with_every_bad_field_named() -> None:
    with pytest.raises(InstrumentAnswerError) as raised:
        instruments.score("gad7", {"gad7_1": 9, "gad7_2": "often", "nope": 1}, options={"cut_point": 3})
    assert raised.value.fields == {
        "gad7_1": ["must be one of 0, 1, 2, 3"],
        "gad7_2": ["must be one of 0, 1, 2, 3"],
        "nope": ["unknown item for gad7"],
        "options.cut_point": ["unknown setting for gad7 (settings: none)"],
    }
    assert "gad7_1" in str(raised.value)


def test_the_error_is_a_value_error_for_callers_that_catch_broadly() -> None:
    assert issubclass(InstrumentAnswerError, ValueError)
    assert issubclass(UnknownInstrument, LookupError)


def test_score_as_dict_is_plain_json() -> None:
    score = instruments.score("phq9", {f"phq9_{n}": 2 for n in range(1, 10)})
    data = score.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["flags"] == [
        {"code": "suicidality", "message": score.flags[0].message, "severity": "critical"}
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.5", 1), ("1.5", 2), ("2.5", 3), ("4.4999", 4), ("41.1111", 41), ("10.5", 11)],
)
def test_rounding_is_half_up_not_half_even(value: str, expected: int) -> None:
    assert round_half_up(Decimal(value)) == expected


def test_a_band_table_with_a_gap_or_overlap_fails_at_import() -> None:
    with pytest.raises(ValueError, match="starts at 6"):
        check_bands((Band(0, 4, "a", "A"), Band(6, 9, "b", "B")), 0, 9)
    with pytest.raises(ValueError, match="starts at 4"):
        check_bands((Band(0, 4, "a", "A"), Band(4, 9, "b", "B")), 0, 9)
    with pytest.raises(ValueError, match="end at 8"):
        check_bands((Band(0, 4, "a", "A"), Band(5, 8, "b", "B")), 0, 9)
