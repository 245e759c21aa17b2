"""The screening API: the record, entry by section, entered-in-error, eligibility and overrides,
through HTTP."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from haven.audit.models import Signature
from haven.core.testing import (
    PASSWORD,
    Cast,
    actor_of,
    client_for,
    load_shipped_protocol,
    make_eligible_screening,
    make_enrolled_course,
    make_patient,
    otp_code,
)
from haven.core.time import today_at
from haven.patients import services as patients
from haven.patients.models import EnrollmentCourse
from haven.screening import services
from haven.screening.models import (
    EligibilityEvaluation,
    EligibilityOverride,
    HistoryItem,
    MedicationEntry,
    PsychedelicUse,
    ScreeningFlag,
    ScreeningMeasurement,
    ScreeningRecord,
)

pytestmark = pytest.mark.django_db

# After the measurements of ``make_eligible_screening`` (2 January 2026), so it is the latest.
LATER = "2026-01-03T09:30:00+00:00"

# One valid request per write endpoint: (method, path below the course, body).
WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("post", "screening/history", {"condition": "Asthma", "category": "other", "current": True}),
    (
        "post",
        "screening/psychedelic-use",
        {"substance": "psilocybin", "lifetime_count": 2, "last_use": "2019-06-01", "clinical": False},
    ),
    ("post", "screening/medications", {"name": "Sertraline", "drug_class": "ssri", "start": "2024-01-01"}),
    (
        "post",
        "screening/measurements",
        {"field": "systolic_bp", "value": 122, "unit": "mm[Hg]", "measured_at": LATER},
    ),
    ("put", "screening/flags/lactating", {"value": False}),
    ("put", "screening/cssrs", {"risk": "low"}),
    ("put", "screening/sections/vitals", {"complete": True}),
]
WRITE_IDS = [path.rsplit("/", 1)[-1] if "/" in path else path for _, path, _ in WRITES]


def _json(client: Client, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return getattr(client, method)(
        path, data=json.dumps(body) if body is not None else None, content_type="application/json"
    )


def _url(course: EnrollmentCourse, suffix: str) -> str:
    return f"/api/v1/courses/{course.public_id}/{suffix}"


def _course(cast: Cast) -> EnrollmentCourse:
    """A course on mdma-ptsd in screening, opened and moved there by the real services."""
    course = patients.course_open(
        actor=actor_of(cast.carmen), patient=make_patient(cast), protocol_version=load_shipped_protocol()
    )
    return patients.course_transition(actor=actor_of(cast.carmen), course=course, to="screening")


def _eligible(cast: Cast) -> EnrollmentCourse:
    course = _course(cast)
    make_eligible_screening(cast, course)
    return course


def _latest(course: EnrollmentCourse) -> EligibilityEvaluation:
    return EligibilityEvaluation.objects.filter(course=course).order_by("-created_at", "-pk")[0]


def _criterion(evaluation: EligibilityEvaluation | dict[str, Any], code: str) -> dict[str, Any]:
    criteria = (
        evaluation.criteria if isinstance(evaluation, EligibilityEvaluation) else evaluation["criteria"]
    )
    return next(c for c in criteria if c["code"] == code)


def _entries() -> int:
    return sum(
        model.objects.count()
        for model in (HistoryItem, PsychedelicUse, MedicationEntry, ScreeningMeasurement, ScreeningFlag)
    )


def _assert_invalid(response: Any, field: str) -> None:
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert list(body["fields"]) == [field]
    assert body["fields"][field]


def _measure(client: Client, course: EnrollmentCourse, **body: Any) -> Any:
    return _json(client, "post", _url(course, "screening/measurements"), {"measured_at": LATER} | body)


# The record -------------------------------------------------------------------------------------
def test_the_record_shows_entries_flags_and_what_forms_need(cast: Cast) -> None:
    course = _eligible(cast)
    services.flag_set(actor=actor_of(cast.carmen), course=course, name="lactating", value=True)
    response = client_for(cast.riley).get(_url(course, "screening"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["course_id"] == str(course.public_id)
    assert body["sections_complete"] == ["medical_history", "medications", "psychiatric_history"]
    assert body["sections"][0] == "medical_history"
    assert body["cssrs_risk"] == "low"
    [ptsd] = body["history"]
    assert (ptsd["condition"], ptsd["category"], ptsd["code"], ptsd["onset"]) == (
        "PTSD",
        "psychiatric",
        "ptsd",
        "2019-05-01",
    )
    assert ptsd["entered_by"] == "Carmen Liu"
    assert ptsd["entered_in_error"] is False
    systolic = [m for m in body["measurements"] if m["field"] == "systolic_bp"]
    assert [(m["value"], m["unit"]) for m in systolic] == [("128", "mm[Hg]"), ("124", "mm[Hg]")]
    assert systolic[0]["measured_at"].startswith("2026-01-02T09:00:00")
    assert (systolic[0]["reference_low"], systolic[0]["reference_high"]) == (None, None)
    # Every entry, and the value that counts: the newest.
    assert [(f["name"], f["value"]) for f in body["flags"]] == [
        ("pregnancy_test_positive", False),
        ("lactating", False),
        ("lactating", True),
    ]
    assert body["flag_values"] == {
        "pregnancy_test_positive": False,
        "lactating": True,
        "ecg_rhythm_abnormal": None,
    }
    ssri = next(c for c in body["drug_classes"] if c["code"] == "ssri")
    assert ssri["washout_days"] == 14
    assert "sertraline" in ssri["examples"]
    temperature = next(f for f in body["field_specs"] if f["field"] == "temperature")
    assert temperature == {
        "field": "temperature",
        "section": "vitals",
        "label": "Temperature",
        "units": ["Cel", "[degF]"],
        "low": "30",
        "high": "45",
        "whole": False,
    }
    assert "ptsd" in body["psychiatric_codes"]
    assert body["cssrs_levels"] == ["none", "low", "moderate", "high"]


def test_the_record_of_a_course_without_screening_data_is_empty_and_not_created(cast: Cast) -> None:
    course = _course(cast)
    body = client_for(cast.carmen).get(_url(course, "screening")).json()
    assert body["sections_complete"] == []
    assert body["cssrs_risk"] is None
    assert body["history"] == body["measurements"] == body["flags"] == []
    assert set(body["flag_values"].values()) == {None}
    assert not ScreeningRecord.objects.exists()


def test_the_record_needs_login(cast: Cast) -> None:
    response = Client().get(_url(_course(cast), "screening"))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_an_outsider_gets_404_for_another_sites_record(cast: Cast) -> None:
    response = client_for(cast.oscar).get(_url(_eligible(cast), "screening"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_pharmacist_may_not_read_the_record(cast: Cast) -> None:
    # Not a role that reads patients: the course is not found.
    assert client_for(cast.pat).get(_url(_eligible(cast), "screening")).status_code == 404


# Every write: who may, and when ---------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=WRITE_IDS)
def test_each_write_succeeds_and_re_evaluates_eligibility(
    cast: Cast, method: str, path: str, body: dict[str, Any]
) -> None:
    course = _course(cast)
    response = _json(client_for(cast.carmen), method, _url(course, path), body)
    assert response.status_code == (201 if method == "post" else 200), response.content
    assert EligibilityEvaluation.objects.filter(course=course).count() == 1
    assert ScreeningRecord.objects.filter(course=course).exists()


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=WRITE_IDS)
def test_each_write_needs_login(cast: Cast, method: str, path: str, body: dict[str, Any]) -> None:
    course = _course(cast)
    response = _json(Client(), method, _url(course, path), body)
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "not_authenticated"
    assert not ScreeningRecord.objects.exists()
    assert _entries() == 0


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=WRITE_IDS)
def test_an_outsider_gets_404_for_each_write(
    cast: Cast, method: str, path: str, body: dict[str, Any]
) -> None:
    course = _course(cast)
    response = _json(client_for(cast.oscar), method, _url(course, path), body)
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"
    assert not ScreeningRecord.objects.exists()
    assert _entries() == 0


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=WRITE_IDS)
def test_a_therapist_may_not_enter_screening_data(
    cast: Cast, method: str, path: str, body: dict[str, Any]
) -> None:
    course = _course(cast)
    response = _json(client_for(cast.alice), method, _url(course, path), body)
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"
    assert not ScreeningRecord.objects.exists()
    assert _entries() == 0
    assert not EligibilityEvaluation.objects.exists()


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=WRITE_IDS)
def test_screening_is_closed_once_the_course_is_enrolled(
    cast: Cast, method: str, path: str, body: dict[str, Any]
) -> None:
    course = make_enrolled_course(cast, enrolled_on=today_at("America/Chicago"))
    entries, evaluations = _entries(), EligibilityEvaluation.objects.count()
    response = _json(client_for(cast.carmen), method, _url(course, path), body)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "screening_closed"
    assert (_entries(), EligibilityEvaluation.objects.count()) == (entries, evaluations)


# History, psychedelic use, medications ------------------------------------------------------------
def test_a_coordinator_adds_a_history_item(cast: Cast) -> None:
    course = _course(cast)
    response = _json(
        client_for(cast.carmen),
        "post",
        _url(course, "screening/history"),
        {
            "condition": "PTSD",
            "category": "psychiatric",
            "code": "ptsd",
            "onset": "2019-05-01",
            "current": True,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    item = HistoryItem.objects.get()
    assert body["id"] == str(item.public_id)
    assert (body["condition"], body["code"], body["onset"], body["current"]) == (
        "PTSD",
        "ptsd",
        "2019-05-01",
        True,
    )
    assert body["entered_by"] == "Carmen Liu"
    assert (item.record.course, item.entered_by, item.onset) == (course, cast.carmen, date(2019, 5, 1))
    assert _latest(course).trigger == "history: PTSD"


def test_history_with_an_unknown_category_names_the_field_and_saves_nothing(cast: Cast) -> None:
    course = _course(cast)
    response = _json(
        client_for(cast.carmen),
        "post",
        _url(course, "screening/history"),
        {"condition": "Gout", "category": "metabolic", "current": True},
    )
    _assert_invalid(response, "category")
    assert not HistoryItem.objects.exists()
    assert not EligibilityEvaluation.objects.exists()


def test_history_without_current_names_the_field(cast: Cast) -> None:
    response = _json(
        client_for(cast.carmen),
        "post",
        _url(_course(cast), "screening/history"),
        {"condition": "Gout", "category": "other"},
    )
    _assert_invalid(response, "current")
    assert not HistoryItem.objects.exists()


def test_a_physician_adds_prior_psychedelic_use(cast: Cast) -> None:
    course = _course(cast)
    response = _json(
        client_for(cast.priya),
        "post",
        _url(course, "screening/psychedelic-use"),
        {"substance": "psilocybin", "lifetime_count": 3, "last_use": "2020-08-15", "clinical": False},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["substance"], body["lifetime_count"], body["last_use"], body["clinical"]) == (
        "psilocybin",
        3,
        "2020-08-15",
        False,
    )
    use = PsychedelicUse.objects.get()
    assert (use.record.course, use.entered_by, use.lifetime_count) == (course, cast.priya, 3)
    assert _latest(course).trigger == "psychedelic use: psilocybin"


def test_psychedelic_use_with_a_negative_count_names_the_field(cast: Cast) -> None:
    response = _json(
        client_for(cast.carmen),
        "post",
        _url(_course(cast), "screening/psychedelic-use"),
        {"substance": "LSD", "lifetime_count": -1, "clinical": False},
    )
    _assert_invalid(response, "lifetime_count")
    assert not PsychedelicUse.objects.exists()


def test_a_medication_in_washout_makes_the_candidate_eligible_only_from_its_end(cast: Cast) -> None:
    course = _eligible(cast)
    stopped = today_at("America/Chicago") - timedelta(days=4)
    response = _json(
        client_for(cast.carmen),
        "post",
        _url(course, "screening/medications"),
        {
            "name": "Sertraline",
            "drug_class": "ssri",
            "dose": "50 mg",
            "start": "2024-01-01",
            "stop": str(stopped),
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["drug_class"], body["dose"], body["stop"]) == (
        "Sertraline",
        "ssri",
        "50 mg",
        str(stopped),
    )
    entry = MedicationEntry.objects.get()
    assert (entry.record.course, entry.drug_class, entry.stop) == (course, "ssri", stopped)
    latest = _latest(course)
    assert latest.trigger == "medication: Sertraline"
    assert latest.overall == "eligible_from"
    assert latest.eligible_from == stopped + timedelta(days=14)
    assert _criterion(latest, "medications")["status"] == "pending"


def test_a_medication_of_an_unknown_drug_class_names_the_field_and_saves_nothing(cast: Cast) -> None:
    course = _course(cast)
    response = _json(
        client_for(cast.carmen),
        "post",
        _url(course, "screening/medications"),
        {"name": "Mystery pill", "drug_class": "nootropic"},
    )
    _assert_invalid(response, "drug_class")
    assert not MedicationEntry.objects.exists()
    assert not EligibilityEvaluation.objects.exists()


def test_a_medication_stopped_before_it_started_names_the_field_and_saves_nothing(cast: Cast) -> None:
    course = _course(cast)
    response = _json(
        client_for(cast.carmen),
        "post",
        _url(course, "screening/medications"),
        {"name": "Sertraline", "drug_class": "ssri", "start": "2025-03-01", "stop": "2025-02-01"},
    )
    _assert_invalid(response, "stop")
    assert not MedicationEntry.objects.exists()
    assert not EligibilityEvaluation.objects.exists()


# Measurements -----------------------------------------------------------------------------------
def test_a_measurement_keeps_its_decimal_precision(cast: Cast) -> None:
    course = _course(cast)
    response = _measure(client_for(cast.carmen), course, field="temperature", value="36.85", unit="Cel")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["field"], body["value"], body["unit"]) == ("temperature", "36.85", "Cel")
    assert body["measured_at"].startswith("2026-01-03T09:30:00")
    entry = ScreeningMeasurement.objects.get()
    assert entry.value == Decimal("36.85")
    assert entry.measured_at == datetime(2026, 1, 3, 9, 30, tzinfo=UTC)
    assert (entry.record.course, entry.entered_by) == (course, cast.carmen)
    assert _latest(course).trigger == "Temperature 36.85 °C"


def test_a_measurement_sent_as_a_json_number_is_read_as_a_decimal(cast: Cast) -> None:
    course = _course(cast)
    response = _measure(
        client_for(cast.carmen),
        course,
        field="bilirubin",
        value=12.3,
        unit="umol/L",
        reference_low="3.4",
        reference_high=20.5,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["value"], body["reference_low"], body["reference_high"]) == ("12.3", "3.4", "20.5")
    entry = ScreeningMeasurement.objects.get()
    assert (entry.value, entry.reference_low, entry.reference_high) == (
        Decimal("12.3"),
        Decimal("3.4"),
        Decimal("20.5"),
    )


def test_an_impossible_blood_pressure_names_the_value_and_saves_nothing(cast: Cast) -> None:
    course = _course(cast)
    response = _measure(client_for(cast.carmen), course, field="systolic_bp", value=400, unit="mm[Hg]")
    _assert_invalid(response, "value")
    assert "outside the possible range" in response.json()["fields"]["value"][0]
    assert not ScreeningMeasurement.objects.exists()
    assert not EligibilityEvaluation.objects.exists()


def test_a_qtc_in_seconds_names_the_unit_and_saves_nothing(cast: Cast) -> None:
    course = _course(cast)
    response = _measure(client_for(cast.carmen), course, field="qtc", value="0.43", unit="s")
    _assert_invalid(response, "unit")
    assert response.json()["fields"]["unit"] == ["QTc is recorded in ms"]
    assert not ScreeningMeasurement.objects.exists()
    assert not EligibilityEvaluation.objects.exists()


def test_a_temperature_in_fahrenheit_is_accepted_and_kept_as_entered(cast: Cast) -> None:
    course = _course(cast)
    response = _measure(client_for(cast.carmen), course, field="temperature", value="98.6", unit="[degF]")
    assert response.status_code == 201, response.content
    assert (response.json()["value"], response.json()["unit"]) == ("98.6", "[degF]")
    entry = ScreeningMeasurement.objects.get()
    assert (entry.value, entry.unit) == (Decimal("98.6"), "[degF]")


def test_a_temperature_in_fahrenheit_is_range_checked_in_celsius(cast: Cast) -> None:
    # 40 is a plausible temperature in °C but 40 °F is 4.4 °C, and 120 °F is 48.9 °C.
    course = _course(cast)
    client = client_for(cast.carmen)
    for value in ("40", "120"):
        response = _measure(client, course, field="temperature", value=value, unit="[degF]")
        _assert_invalid(response, "value")
        assert "30–45 Cel" in response.json()["fields"]["value"][0]
    assert _measure(client, course, field="temperature", value="40", unit="Cel").status_code == 201
    assert list(ScreeningMeasurement.objects.values_list("unit", flat=True)) == ["Cel"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"field": "systolic_bp", "value": "high", "unit": "mm[Hg]"}, "value"),
        ({"field": "temperature", "value": "36.8555", "unit": "Cel"}, "value"),
        (
            {"field": "systolic_bp", "value": 120, "unit": "mm[Hg]", "measured_at": "2026-01-03T09:30:00"},
            "measured_at",
        ),
        ({"field": "glucose", "value": 5, "unit": "mmol/L"}, "field"),
    ],
    ids=["not-a-number", "too-many-decimals", "naive-time", "unknown-field"],
)
def test_an_invalid_measurement_names_the_field_and_saves_nothing(
    cast: Cast, body: dict[str, Any], field: str
) -> None:
    course = _course(cast)
    _assert_invalid(_measure(client_for(cast.carmen), course, **body), field)
    assert not ScreeningMeasurement.objects.exists()
    assert not EligibilityEvaluation.objects.exists()


def test_a_blinded_rater_may_enter_the_caps5_total_but_not_blood_pressure(cast: Cast) -> None:
    # The rater's interview total may be the first entry of the record.
    course = _course(cast)
    client = client_for(cast.riley)
    response = _measure(client, course, field="caps5_total", value=41, unit="{score}")
    assert response.status_code == 201, response.content
    assert response.json()["entered_by"] == "Riley Brennan"
    assert ScreeningRecord.objects.filter(course=course).exists()
    refused = _measure(client, course, field="systolic_bp", value=120, unit="mm[Hg]")
    assert refused.status_code == 403, refused.content
    assert refused.json()["code"] == "permission_denied"
    assert list(ScreeningMeasurement.objects.values_list("field", "entered_by")) == [
        ("caps5_total", cast.riley.pk)
    ]
    assert EligibilityEvaluation.objects.filter(course=course).count() == 1


# Flags, C-SSRS, sections ------------------------------------------------------------------------
def test_a_positive_pregnancy_test_makes_the_candidate_ineligible(cast: Cast) -> None:
    course = _eligible(cast)
    response = _json(
        client_for(cast.carmen),
        "put",
        _url(course, "screening/flags/pregnancy_test_positive"),
        {"value": True},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    flag = ScreeningFlag.objects.get(name="pregnancy_test_positive", value=True)
    assert (body["id"], body["name"], body["value"]) == (str(flag.public_id), "pregnancy_test_positive", True)
    latest = _latest(course)
    assert latest.trigger == "pregnancy test positive: yes"
    assert latest.overall == "ineligible"
    assert _criterion(latest, "pregnancy")["status"] == "not_met"


def test_an_unknown_flag_names_the_flag_and_saves_nothing(cast: Cast) -> None:
    response = _json(
        client_for(cast.carmen), "put", _url(_course(cast), "screening/flags/colour_blind"), {"value": True}
    )
    _assert_invalid(response, "name")
    assert not ScreeningFlag.objects.exists()


def test_the_cssrs_risk_is_recorded_and_high_risk_excludes(cast: Cast) -> None:
    course = _eligible(cast)
    response = _json(client_for(cast.priya), "put", _url(course, "screening/cssrs"), {"risk": "high"})
    assert response.status_code == 200, response.content
    assert response.json()["cssrs_risk"] == "high"
    assert ScreeningRecord.objects.get(course=course).cssrs_risk == "high"
    latest = _latest(course)
    assert latest.trigger == "C-SSRS risk high"
    assert _criterion(latest, "suicide-risk")["status"] == "not_met"


def test_an_unknown_cssrs_risk_names_the_field_and_changes_nothing(cast: Cast) -> None:
    course = _eligible(cast)
    evaluations = EligibilityEvaluation.objects.count()
    response = _json(client_for(cast.priya), "put", _url(course, "screening/cssrs"), {"risk": "extreme"})
    _assert_invalid(response, "risk")
    assert ScreeningRecord.objects.get(course=course).cssrs_risk == "low"
    assert EligibilityEvaluation.objects.count() == evaluations


def test_a_section_is_marked_complete_and_reopened(cast: Cast) -> None:
    course = _course(cast)
    client = client_for(cast.carmen)
    done = _json(client, "put", _url(course, "screening/sections/labs"), {"complete": True})
    assert done.status_code == 200, done.content
    assert done.json()["sections_complete"] == ["labs"]
    assert ScreeningRecord.objects.get(course=course).sections_complete == ["labs"]
    assert _latest(course).trigger == "labs complete"
    reopened = _json(client, "put", _url(course, "screening/sections/labs"), {"complete": False})
    assert reopened.json()["sections_complete"] == []
    assert ScreeningRecord.objects.get(course=course).sections_complete == []
    assert _latest(course).trigger == "labs reopened"


def test_an_unknown_section_names_the_field(cast: Cast) -> None:
    response = _json(
        client_for(cast.carmen),
        "put",
        _url(_course(cast), "screening/sections/astrology"),
        {"complete": True},
    )
    _assert_invalid(response, "section")
    assert not EligibilityEvaluation.objects.exists()


# Entered in error -------------------------------------------------------------------------------
def test_an_entry_marked_in_error_no_longer_counts(cast: Cast) -> None:
    course = _eligible(cast)
    flag = services.flag_set(
        actor=actor_of(cast.carmen), course=course, name="pregnancy_test_positive", value=True
    )
    assert _criterion(_latest(course), "pregnancy")["status"] == "not_met"
    response = _json(
        client_for(cast.priya),
        "post",
        _url(course, f"screening/flags/{flag.public_id}/entered-in-error"),
        {"reason": "Result belonged to another patient"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    shown = next(f for f in body["flags"] if f["id"] == str(flag.public_id))
    assert (shown["entered_in_error"], shown["error_reason"]) == (True, "Result belonged to another patient")
    assert body["flag_values"]["pregnancy_test_positive"] is False
    flag.refresh_from_db()
    assert (flag.entered_in_error, flag.error_reason) == (True, "Result belonged to another patient")
    latest = _latest(course)
    assert latest.trigger == "entry marked in error: Result belonged to another patient"
    assert _criterion(latest, "pregnancy")["status"] == "met"
    assert latest.overall == "eligible"


def test_a_measurement_marked_in_error_drops_out_of_the_evaluation(cast: Cast) -> None:
    course = _eligible(cast)
    client = client_for(cast.carmen)
    typo = _measure(client, course, field="alt", value=400, unit="U/L").json()
    assert _criterion(_latest(course), "hepatic")["status"] == "not_met"
    response = _json(
        client,
        "post",
        _url(course, f"screening/measurements/{typo['id']}/entered-in-error"),
        {"reason": "Typo"},
    )
    assert response.status_code == 200, response.content
    assert ScreeningMeasurement.objects.get(public_id=typo["id"]).entered_in_error is True
    assert _criterion(_latest(course), "hepatic")["status"] == "met"


def test_marking_in_error_without_a_reason_changes_nothing(cast: Cast) -> None:
    course = _eligible(cast)
    item = HistoryItem.objects.get()
    evaluations = EligibilityEvaluation.objects.count()
    response = _json(
        client_for(cast.carmen),
        "post",
        _url(course, f"screening/history/{item.public_id}/entered-in-error"),
        {"reason": " "},
    )
    assert response.status_code == 422, response.content
    assert list(response.json()["fields"]) == ["reason"]
    item.refresh_from_db()
    assert item.entered_in_error is False
    assert EligibilityEvaluation.objects.count() == evaluations


def test_marking_an_entry_in_error_twice_is_a_conflict(cast: Cast) -> None:
    course = _eligible(cast)
    item = HistoryItem.objects.get()
    client = client_for(cast.carmen)
    path = _url(course, f"screening/history/{item.public_id}/entered-in-error")
    assert _json(client, "post", path, {"reason": "Wrong patient"}).status_code == 200
    again = _json(client, "post", path, {"reason": "Still wrong"})
    assert again.status_code == 409, again.content
    item.refresh_from_db()
    assert item.error_reason == "Wrong patient"


def test_an_entry_is_found_only_under_its_own_kind_and_course(cast: Cast) -> None:
    course = _eligible(cast)
    other = _course(cast)
    item = HistoryItem.objects.get()
    client = client_for(cast.carmen)
    for path in (
        _url(course, f"screening/medications/{item.public_id}/entered-in-error"),
        _url(course, f"screening/diagnoses/{item.public_id}/entered-in-error"),
        _url(other, f"screening/history/{item.public_id}/entered-in-error"),
    ):
        response = _json(client, "post", path, {"reason": "Wrong patient"})
        assert response.status_code == 404, (path, response.content)
    item.refresh_from_db()
    assert item.entered_in_error is False


def test_marking_in_error_is_refused_to_a_therapist_hidden_from_outsiders_and_needs_login(
    cast: Cast,
) -> None:
    course = _eligible(cast)
    item = HistoryItem.objects.get()
    path = _url(course, f"screening/history/{item.public_id}/entered-in-error")
    body = {"reason": "Wrong patient"}
    assert _json(client_for(cast.alice), "post", path, body).status_code == 403
    assert _json(client_for(cast.oscar), "post", path, body).status_code == 404
    assert _json(Client(), "post", path, body).status_code == 401
    item.refresh_from_db()
    assert item.entered_in_error is False


# Eligibility ------------------------------------------------------------------------------------
def test_evaluating_a_complete_screening_is_eligible_on_every_criterion(cast: Cast) -> None:
    course = _eligible(cast)
    evaluations = EligibilityEvaluation.objects.count()
    response = client_for(cast.priya).post(_url(course, "eligibility"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["overall"] == "eligible"
    assert body["eligible_from"] is None
    assert body["protocol_version"] == "mdma-ptsd 1.0"
    assert body["evaluated_on"] == str(today_at("America/Chicago"))
    assert len(body["criteria"]) == 13
    assert {c["status"] for c in body["criteria"]} == {"met"}
    caps5 = _criterion(body, "caps5-severity")
    assert (caps5["kind"], caps5["value"], caps5["overridden"], caps5["pending_until"]) == (
        "inclusion",
        "CAPS-5 total 39",
        False,
        None,
    )
    assert body["overrides"] == []
    assert EligibilityEvaluation.objects.count() == evaluations + 1
    latest = _latest(course)
    assert (str(latest.public_id), latest.trigger) == (body["id"], "requested")


def test_evaluating_a_half_done_screening_is_incomplete(cast: Cast) -> None:
    course = _course(cast)
    services.history_add(
        actor=actor_of(cast.carmen),
        course=course,
        condition="PTSD",
        category="psychiatric",
        code="ptsd",
        onset=date(2019, 5, 1),
    )
    body = client_for(cast.carmen).post(_url(course, "eligibility")).json()
    assert body["overall"] == "incomplete"
    assert _criterion(body, "caps5-severity")["status"] == "missing"
    assert (
        _criterion(body, "caps5-severity")["message"] == "Missing: CAPS-5 total: a value needed, 0 recorded."
    )
    assert _latest(course).overall == "incomplete"


def test_evaluating_is_refused_to_roles_that_only_read(cast: Cast) -> None:
    course = _eligible(cast)
    evaluations = EligibilityEvaluation.objects.count()
    for user in (cast.sam, cast.riley, cast.alice):
        response = client_for(user).post(_url(course, "eligibility"))
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission_denied"
    assert EligibilityEvaluation.objects.count() == evaluations


def test_evaluating_is_hidden_from_outsiders_and_needs_login(cast: Cast) -> None:
    course = _eligible(cast)
    evaluations = EligibilityEvaluation.objects.count()
    assert client_for(cast.oscar).post(_url(course, "eligibility")).status_code == 404
    assert Client().post(_url(course, "eligibility")).status_code == 401
    assert EligibilityEvaluation.objects.count() == evaluations


def test_the_latest_evaluation_is_shown_to_readers(cast: Cast) -> None:
    course = _eligible(cast)
    response = client_for(cast.sam).get(_url(course, "eligibility"))
    assert response.status_code == 200, response.content
    body = response.json()
    latest = _latest(course)
    assert (body["id"], body["overall"], body["trigger"]) == (
        str(latest.public_id),
        "eligible",
        "C-SSRS risk low",
    )
    assert body["criteria"] == latest.criteria


def test_the_latest_evaluation_is_not_found_before_any(cast: Cast) -> None:
    response = client_for(cast.carmen).get(_url(_course(cast), "eligibility"))
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"


def test_the_latest_evaluation_is_hidden_from_outsiders_and_needs_login(cast: Cast) -> None:
    course = _eligible(cast)
    assert client_for(cast.oscar).get(_url(course, "eligibility")).status_code == 404
    assert Client().get(_url(course, "eligibility")).status_code == 401


def test_the_history_lists_every_evaluation_newest_first(cast: Cast) -> None:
    course = _eligible(cast)
    response = client_for(cast.priya).get(_url(course, "eligibility/history"))
    assert response.status_code == 200, response.content
    rows = response.json()
    stored = list(EligibilityEvaluation.objects.filter(course=course).order_by("-created_at", "-pk"))
    assert [r["id"] for r in rows] == [str(e.public_id) for e in stored]
    assert len(rows) == 16  # one per change made by make_eligible_screening
    assert (rows[0]["overall"], rows[0]["trigger"]) == ("eligible", "C-SSRS risk low")
    assert (rows[-1]["overall"], rows[-1]["trigger"]) == ("incomplete", "history: PTSD")
    assert set(rows[0]) == {"id", "evaluated_on", "evaluated_at", "overall", "eligible_from", "trigger"}


def test_the_history_is_hidden_from_outsiders_and_needs_login(cast: Cast) -> None:
    course = _eligible(cast)
    assert client_for(cast.oscar).get(_url(course, "eligibility/history")).status_code == 404
    assert Client().get(_url(course, "eligibility/history")).status_code == 401


# Overrides --------------------------------------------------------------------------------------
def _low_caps5(cast: Cast) -> EnrollmentCourse:
    """A candidate eligible but for a CAPS-5 total below the threshold."""
    course = _eligible(cast)
    services.measurement_add(
        actor=actor_of(cast.carmen),
        course=course,
        field="caps5_total",
        value=25,
        unit="{score}",
        measured_at=datetime(2026, 1, 3, 9, 30, tzinfo=UTC),
    )
    assert _criterion(_latest(course), "caps5-severity")["status"] == "not_met"
    return course


def _override(cast: Cast, course: EnrollmentCourse, **changes: Any) -> dict[str, Any]:
    return {
        "criterion_code": "caps5-severity",
        "reason": "Clinician-rated severity under-reported at the interview; confirmed at a second interview",
        "password": PASSWORD,
        "otp_code": otp_code(cast.priya),
    } | changes


def test_a_physician_overrides_a_criterion_with_a_signature(cast: Cast) -> None:
    course = _low_caps5(cast)
    response = _json(
        client_for(cast.priya), "post", _url(course, "eligibility/overrides"), _override(cast, course)
    )
    assert response.status_code == 201, response.content
    body = response.json()
    override = EligibilityOverride.objects.get(course=course)
    assert (body["id"], body["criterion_code"], body["physician"]) == (
        str(override.public_id),
        "caps5-severity",
        "Dr Priya Natarajan",
    )
    assert body["reason"].startswith("Clinician-rated severity")
    [signature] = body["signatures"]
    assert (signature["printed_name"], signature["meaning"], signature["status"]) == (
        "Dr Priya Natarajan",
        "approved",
        "valid",
    )
    stored = Signature.objects.get(
        record_type=EligibilityOverride.record_type(), record_id=str(override.public_id)
    )
    assert (stored.signer, stored.meaning) == (cast.priya, "approved")
    latest = _latest(course)
    assert latest.trigger == "override of caps5-severity"
    assert latest.overall == "eligible"
    caps5 = _criterion(latest, "caps5-severity")
    assert (caps5["status"], caps5["overridden"]) == ("met", True)
    # The evaluation shows the override and its signature.
    shown = client_for(cast.carmen).get(_url(course, "eligibility")).json()
    assert _criterion(shown, "caps5-severity")["overridden"] is True
    assert [o["criterion_code"] for o in shown["overrides"]] == ["caps5-severity"]
    assert shown["overrides"][0]["signatures"][0]["status"] == "valid"


def test_a_criterion_the_protocol_does_not_let_be_overridden_names_the_field(cast: Cast) -> None:
    course = _low_caps5(cast)
    evaluations = EligibilityEvaluation.objects.count()
    response = _json(
        client_for(cast.priya),
        "post",
        _url(course, "eligibility/overrides"),
        _override(cast, course, criterion_code="qtc"),
    )
    _assert_invalid(response, "criterion_code")
    assert not EligibilityOverride.objects.exists()
    assert not Signature.objects.filter(record_type=EligibilityOverride.record_type()).exists()
    assert EligibilityEvaluation.objects.count() == evaluations


def test_overriding_is_for_physicians_only(cast: Cast) -> None:
    course = _low_caps5(cast)
    response = _json(
        client_for(cast.carmen),
        "post",
        _url(course, "eligibility/overrides"),
        _override(cast, course, otp_code=otp_code(cast.carmen)),
    )
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"
    assert not EligibilityOverride.objects.exists()


def test_an_override_with_a_wrong_password_is_refused_and_nothing_is_saved(cast: Cast) -> None:
    course = _low_caps5(cast)
    evaluations = EligibilityEvaluation.objects.count()
    response = _json(
        client_for(cast.priya),
        "post",
        _url(course, "eligibility/overrides"),
        _override(cast, course, password="guess"),
    )
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "signature_refused"
    assert not EligibilityOverride.objects.exists()
    assert not Signature.objects.exists()
    assert EligibilityEvaluation.objects.count() == evaluations
    assert _criterion(_latest(course), "caps5-severity")["status"] == "not_met"


def test_a_criterion_is_overridden_once(cast: Cast) -> None:
    course = _low_caps5(cast)
    client = client_for(cast.priya)
    path = _url(course, "eligibility/overrides")
    assert _json(client, "post", path, _override(cast, course)).status_code == 201
    again = _json(client, "post", path, _override(cast, course))
    assert again.status_code == 409, again.content
    assert EligibilityOverride.objects.count() == 1


def test_overriding_is_hidden_from_outsiders_and_needs_login(cast: Cast) -> None:
    course = _low_caps5(cast)
    path = _url(course, "eligibility/overrides")
    assert _json(client_for(cast.oscar), "post", path, _override(cast, course)).status_code == 404
    assert _json(Client(), "post", path, _override(cast, course)).status_code == 401
    assert not EligibilityOverride.objects.exists()
