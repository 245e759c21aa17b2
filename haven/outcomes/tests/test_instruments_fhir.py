"""FHIR R4 export: every instrument as a Questionnaire and a response as a QuestionnaireResponse,
both validated with fhir.resources.

fhir.resources 8 ships R4B (4.3) and R5 models but no longer R4 (4.0.1); R4B left Questionnaire and
QuestionnaireResponse as they were in R4, so its models check the R4 shapes Haven writes.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from haven.outcomes import instruments
from haven.outcomes.instruments import InstrumentAnswerError
from haven.outcomes.instruments.fhir import DEFAULT_BASE, LOINC

AUTHORED = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)

# One complete, valid set of answers per instrument.
SAMPLES: dict[str, dict[str, object]] = {
    "pcl5": {f"pcl5_{n}": n % 5 for n in range(1, 21)},
    "phq9": {**{f"phq9_{n}": n % 4 for n in range(1, 10)}, "phq9_difficulty": 2},
    "gad7": {**{f"gad7_{n}": n % 4 for n in range(1, 8)}, "gad7_difficulty": 1},
    "cssrs_screener": {
        "cssrs_1": True,
        "cssrs_2": True,
        "cssrs_3": True,
        "cssrs_4": False,
        "cssrs_5": False,
        "cssrs_6": True,
        "cssrs_6b": False,
    },
    "audit": {**{f"audit_{n}": 1 for n in range(1, 9)}, "audit_9": 2, "audit_10": 0},
    "treatment_guess": {
        "treatment_guess_respondent": "participant",
        "treatment_guess_arm": "active",
        "treatment_guess_confidence": 80,
        "treatment_guess_reason": "Strong effects within the first hour.",
    },
    "suds": {"suds_rating": 3},
    "caps5_past_month": {
        **{item.code: 2 for item in instruments.get("caps5_past_month").items if item.kind == "integer"},
        "caps5_criterion_a": True,
        "caps5_criterion_f": True,
        "caps5_criterion_g": True,
    },
    "madrs": {f"madrs_{n}": 3 for n in range(1, 11)},
}


def items_by_link_id(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["linkId"]: item for item in resource["item"]}


@pytest.mark.parametrize("code", sorted(instruments.INSTRUMENTS))
def test_every_instrument_is_a_valid_r4_questionnaire(code: str) -> None:
    resource = instruments.questionnaire(code)
    Questionnaire.model_validate(resource)
    assert json.loads(json.dumps(resource)) == resource
    assert resource["status"] == "active"
    assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", str(resource["id"]))
    assert resource["url"] == f"{DEFAULT_BASE}/Questionnaire/{resource['id']}"
    assert resource["identifier"] == [{"system": "urn:haven:instrument", "value": code}]
    assert resource["version"] == instruments.get(code).version


@pytest.mark.parametrize("code", sorted(instruments.INSTRUMENTS))
def test_link_ids_are_the_item_codes_plus_a_read_only_total(code: str) -> None:
    instrument = instruments.get(code)
    items = items_by_link_id(instruments.questionnaire(code))
    expected = [item.code for item in instrument.items]
    if instrument.total_range is not None:
        expected.append(f"{code}_total")
        assert items[f"{code}_total"]["readOnly"] is True
    assert list(items) == expected


def test_loinc_codes_go_into_the_questionnaire() -> None:
    resource = instruments.questionnaire("phq9")
    assert resource["code"] == [{"system": LOINC, "code": "44249-1"}]
    items = items_by_link_id(resource)
    assert items["phq9_9"]["code"] == [{"system": LOINC, "code": "44260-8"}]
    assert items["phq9_total"]["code"] == [{"system": LOINC, "code": "44261-6"}]
    assert items["phq9_9"]["answerOption"][3] == {
        "valueCoding": {"system": LOINC, "code": "LA6571-9", "display": "Nearly every day"},
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 3}],
    }
    pcl5 = instruments.questionnaire("pcl5")
    assert pcl5["code"] == [{"system": LOINC, "code": "101697-1"}]
    assert items_by_link_id(pcl5)["pcl5_total"]["code"] == [{"system": LOINC, "code": "101698-9"}]


def test_answers_without_loinc_codes_get_a_haven_code_system() -> None:
    item = items_by_link_id(instruments.questionnaire("audit"))["audit_9"]
    assert [option["valueCoding"] for option in item["answerOption"]] == [
        {"system": f"{DEFAULT_BASE}/CodeSystem/audit-9", "code": "0", "display": "No"},
        {
            "system": f"{DEFAULT_BASE}/CodeSystem/audit-9",
            "code": "2",
            "display": "Yes, but not in the last year",
        },
        {"system": f"{DEFAULT_BASE}/CodeSystem/audit-9", "code": "4", "display": "Yes, during the last year"},
    ]


def test_skip_logic_is_enable_when() -> None:
    items = items_by_link_id(instruments.questionnaire("cssrs_screener"))
    for link_id in ("cssrs_3", "cssrs_4", "cssrs_5"):
        assert items[link_id]["enableWhen"] == [
            {"question": "cssrs_2", "operator": "=", "answerBoolean": True}
        ]
    assert items["cssrs_6b"]["enableWhen"] == [
        {"question": "cssrs_6", "operator": "=", "answerBoolean": True}
    ]
    assert "enableWhen" not in items["cssrs_6"]


@pytest.mark.parametrize("code", ["caps5_past_month", "madrs"])
def test_licensed_instruments_carry_codes_and_neutral_labels_only(code: str) -> None:
    instrument = instruments.get(code)
    items = items_by_link_id(instruments.questionnaire(code))
    for item in instrument.items:
        assert items[item.code]["text"] == item.label
        assert "answerOption" not in items[item.code]
        if item.kind == "integer":
            assert "licensed; wording not included" in item.label


def test_integer_items_carry_their_range() -> None:
    item = items_by_link_id(instruments.questionnaire("madrs"))["madrs_1"]
    assert item["type"] == "integer"
    assert item["extension"] == [
        {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 0},
        {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 6},
    ]


def test_the_study_arms_reach_the_questionnaire() -> None:
    resource = instruments.questionnaire("treatment_guess", options={"arms": ["mdma", "placebo"]})
    Questionnaire.model_validate(resource)
    options = items_by_link_id(resource)["treatment_guess_arm"]["answerOption"]
    assert [option["valueCoding"]["code"] for option in options] == ["mdma", "placebo", "dont_know"]


def test_a_canonical_base_can_be_given() -> None:
    resource = instruments.questionnaire("suds", base="https://fhir.example.org")
    assert resource["url"] == "https://fhir.example.org/Questionnaire/suds"


@pytest.mark.parametrize("code", sorted(instruments.INSTRUMENTS))
def test_every_response_is_a_valid_r4_questionnaire_response(code: str) -> None:
    answers = SAMPLES[code]
    resource = instruments.questionnaire_response(
        code,
        answers,
        subject_reference="Patient/0b8c2a44-5a0e-4c59-9d0e-6f1f7b5d2c11",
        authored=AUTHORED,
        author_reference="Practitioner/rater-1",
    )
    QuestionnaireResponse.model_validate(resource)
    assert json.loads(json.dumps(resource)) == resource
    questionnaire = instruments.questionnaire(code)
    assert resource["questionnaire"] == f"{questionnaire['url']}|{questionnaire['version']}"
    assert resource["status"] == "completed"
    assert resource["authored"] == "2026-11-25T09:30:00+00:00"
    # Every answer is one the questionnaire offers.
    offered = items_by_link_id(questionnaire)
    for item in resource["item"]:
        assert item["linkId"] in offered
        for answer in item["answer"]:
            if "valueCoding" in answer:
                codings = [option["valueCoding"] for option in offered[item["linkId"]]["answerOption"]]
                assert answer["valueCoding"] in codings
    answered = {item["linkId"] for item in resource["item"]}
    assert {key for key, value in answers.items() if value is not None} <= answered


def test_the_total_and_the_whole_score_travel_with_the_response() -> None:
    answers = SAMPLES["phq9"]
    resource = instruments.questionnaire_response(
        "phq9", answers, subject_reference="Patient/p1", authored=AUTHORED
    )
    score = instruments.score("phq9", answers)
    items = items_by_link_id(resource)
    assert items["phq9_total"]["answer"] == [{"valueInteger": score.total}]
    assert items["phq9_9"]["answer"] == [
        {"valueCoding": {"system": LOINC, "code": "LA6569-3", "display": "Several days"}}
    ]
    (extension,) = resource["extension"]
    assert extension["url"] == f"{DEFAULT_BASE}/StructureDefinition/instrument-score"
    parts = {part["url"]: part for part in extension["extension"] if part["url"] not in ("flag", "subscore")}
    assert parts["total"] == {"url": "total", "valueInteger": score.total}
    assert parts["band"] == {"url": "band", "valueString": score.band}
    assert parts["missingRuleApplied"] == {"url": "missingRuleApplied", "valueString": "all 9 items answered"}
    flags = [part for part in extension["extension"] if part["url"] == "flag"]
    assert flags[0]["extension"][0] == {"url": "code", "valueCode": "suicidality"}


def test_a_cssrs_response_carries_the_risk_level_and_no_total_item() -> None:
    resource = instruments.questionnaire_response(
        "cssrs_screener", SAMPLES["cssrs_screener"], subject_reference="Patient/p1", authored=AUTHORED
    )
    (extension,) = resource["extension"]
    assert {"url": "riskLevel", "valueCode": "moderate"} in extension["extension"]
    assert "cssrs_screener_total" not in items_by_link_id(resource)


def test_a_prorated_total_is_in_the_response_with_its_rule() -> None:
    answers = dict(SAMPLES["pcl5"])
    del answers["pcl5_20"]
    resource = instruments.questionnaire_response(
        "pcl5", answers, subject_reference="Patient/p1", authored=AUTHORED
    )
    QuestionnaireResponse.model_validate(resource)
    (extension,) = resource["extension"]
    assert {
        "url": "missingRuleApplied",
        "valueString": "prorated from 19 of 20 items; cluster E not scored (item missing)",
    } in extension["extension"]


def test_no_total_item_when_the_rule_gives_no_score() -> None:
    resource = instruments.questionnaire_response(
        "madrs", {"madrs_1": 2}, subject_reference="Patient/p1", authored=AUTHORED
    )
    QuestionnaireResponse.model_validate(resource)
    assert "madrs_total" not in items_by_link_id(resource)


def test_a_response_needs_valid_answers_an_aware_time_and_its_own_score() -> None:
    with pytest.raises(InstrumentAnswerError):
        instruments.questionnaire_response(
            "suds", {"suds_rating": 12}, subject_reference="Patient/p1", authored=AUTHORED
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        instruments.questionnaire_response(
            "suds", {"suds_rating": 2}, subject_reference="Patient/p1", authored=datetime(2026, 11, 25, 9, 30)
        )
    with pytest.raises(ValueError, match="a phq9 score given for a suds response"):
        instruments.questionnaire_response(
            "suds",
            {"suds_rating": 2},
            subject_reference="Patient/p1",
            authored=AUTHORED,
            score=instruments.score("phq9", {}),
        )
