"""Screening pages through the test client: the record in sections, the eligibility panel,
overrides, the evaluation history and the printable summary."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from haven.core.testing import (
    PASSWORD,
    Cast,
    actor_of,
    client_for,
    load_shipped_protocol,
    make_eligible_screening,
    make_patient,
)
from haven.core.testing import otp_code as next_code
from haven.patients.models import EnrollmentCourse
from haven.patients.services import course_open, course_transition
from haven.screening import services
from haven.screening.models import (
    EligibilityEvaluation,
    EligibilityOverride,
    HistoryItem,
    ScreeningMeasurement,
    ScreeningRecord,
)
from haven.screening.selectors import eligibility_latest

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
MEASURED_AT = "2026-01-05T09:30"


def _screening_course(cast: Cast) -> EnrollmentCourse:
    """A course of the shipped mdma-ptsd protocol, moved to screening, with nothing entered."""
    version = load_shipped_protocol()
    course = course_open(actor=actor_of(cast.carmen), patient=make_patient(cast), protocol_version=version)
    return course_transition(actor=actor_of(cast.carmen), course=course, to="screening")


def _eligible_course(cast: Cast) -> EnrollmentCourse:
    course = _screening_course(cast)
    make_eligible_screening(cast, course)
    return course


def _page(course: EnrollmentCourse) -> str:
    return f"/courses/{course.public_id}/screening/"


def _add(course: EnrollmentCourse, section: str) -> str:
    return f"/courses/{course.public_id}/screening/sections/{section}/"


def _bp(systolic: str, diastolic: str) -> dict[str, str]:
    return {
        "systolic_bp": systolic,
        "systolic_bp_unit": "mm[Hg]",
        "diastolic_bp": diastolic,
        "diastolic_bp_unit": "mm[Hg]",
        "heart_rate_unit": "/min",
        "temperature_unit": "Cel",
        "measured_at": MEASURED_AT,
    }


def _field_block(page: str, field_id: str) -> str:
    """The markup of the form field whose input has ``field_id``, up to the next field."""
    start = page.rindex('<div class="field', 0, page.index(f'id="{field_id}"'))
    end = page.find('<div class="field', page.index(f'id="{field_id}"'))
    return page[start:end]


def _overall(page: str) -> str:
    found = re.search(r'<strong class="badge big [a-z]*" id="overall">([^<]+)</strong>', page)
    assert found is not None, "no overall badge"
    return found.group(1)


def _override(client: Client, cast: Cast, course: EnrollmentCourse, code: str, **extra: Any) -> Any:
    data = {
        "criterion_code": code,
        "reason": "CAPS-5 given by an outside rater last week: 34; our interview is booked.",
        "password": PASSWORD,
        "otp_code": next_code(cast.priya),
    } | extra
    return client.post(f"/courses/{course.public_id}/eligibility/overrides/", data, headers=HTMX)


# The page -----------------------------------------------------------------------------------------
def test_the_page_shows_every_section_with_its_units(cast: Cast) -> None:
    course = _screening_course(cast)
    response = client_for(cast.carmen).get(_page(course))
    page = response.content.decode()

    assert response.status_code == 200
    for title in (
        "Medical history",
        "Psychiatric history",
        "Prior psychedelic use",
        "Medications",
        "Vital signs",
        "ECG",
        "Laboratory tests",
        "Weight and height",
        "Pregnancy and lactation",
        "Rating instruments",
    ):
        assert f">{title}</h2>" in page
    # A unit beside every value: the only unit as text, several as a select.
    assert '<span class="unit">mmHg</span>' in page
    assert '<span class="unit">ms</span>' in page
    assert '<option value="umol/L" selected>µmol/L</option>' in page
    assert '<option value="mg/dL">mg/dL</option>' in page
    assert '<option value="[lb_av]">lb</option>' in page
    assert '<span class="unit">points</span>' in page
    for field in services.FIELDS:
        assert f'name="{field}"' in page
        assert f'name="{field}_unit"' in page
    # Labs take an optional reference range; the drug classes show their washout.
    assert 'name="alt_low"' in page
    assert "Selective serotonin reuptake inhibitors (washout 14 days)" in page
    assert '<option value="bipolar_i">Bipolar I disorder</option>' in page
    assert 'name="cssrs_risk"' in page
    assert 'name="ecg_rhythm_abnormal"' in page
    # Looking creates nothing.
    assert not ScreeningRecord.objects.exists()
    assert not EligibilityEvaluation.objects.exists()


def test_the_panel_is_incomplete_for_an_empty_record(cast: Cast) -> None:
    page = client_for(cast.carmen).get(_page(_screening_course(cast))).content.decode()
    assert _overall(page) == "Incomplete"
    assert page.count('<li class="criterion"') == 13
    assert "Not evaluated yet" in page


def test_the_panel_is_eligible_when_every_criterion_is_met(cast: Cast) -> None:
    course = _eligible_course(cast)
    page = client_for(cast.carmen).get(_page(course)).content.decode()
    assert _overall(page) == "Eligible"
    assert page.count('<span class="badge ok">Met</span>') == 13
    assert "QTc 431 ms does not exceed 470 ms (female limit)." in page
    assert "<strong>Systolic BP</strong> 128 mmHg" in page


def test_the_page_needs_login(cast: Cast) -> None:
    response = Client().get(_page(_screening_course(cast)))
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_an_outsider_gets_not_found_everywhere(cast: Cast) -> None:
    course = _eligible_course(cast)
    oscar = client_for(cast.oscar)
    base = f"/courses/{course.public_id}"
    for url in (_page(course), f"{base}/eligibility/summary/", f"{base}/eligibility/history/"):
        assert oscar.get(url).status_code == 404
    before = ScreeningMeasurement.objects.count()
    response = oscar.post(_add(course, "vitals"), _bp("120", "80"), headers=HTMX)
    assert response.status_code == 404
    assert ScreeningMeasurement.objects.count() == before
    assert _override(oscar, cast, course, "caps5-severity").status_code == 404
    assert not EligibilityOverride.objects.exists()


def test_a_therapist_reads_the_page_but_may_not_write(cast: Cast) -> None:
    course = _eligible_course(cast)
    alice = client_for(cast.alice)
    page = alice.get(_page(course)).content.decode()
    assert _overall(page) == "Eligible"
    assert "/screening/sections/" not in page  # no add or "complete" forms
    assert "Mark entered in error" not in page

    before = ScreeningMeasurement.objects.count()
    response = alice.post(_add(course, "vitals"), _bp("120", "80"), headers=HTMX)
    assert response.status_code == 403
    assert "physician or coordinator" in response.content.decode()
    assert ScreeningMeasurement.objects.count() == before
    plain = alice.post(_add(course, "vitals"), _bp("120", "80"))
    assert plain.status_code == 403
    assert ScreeningMeasurement.objects.count() == before


def test_a_role_that_may_not_read_patients_gets_not_found(cast: Cast) -> None:
    # A pharmacist holds no role that reads patients: for them the course does not exist.
    assert client_for(cast.pat).get(_page(_screening_course(cast))).status_code == 404


def test_a_rater_is_offered_only_the_interview_totals(cast: Cast) -> None:
    course = _eligible_course(cast)
    riley = client_for(cast.riley)
    page = riley.get(_page(course)).content.decode()
    assert f'action="{_add(course, "instruments")}"' in page
    assert f'action="{_add(course, "vitals")}"' not in page
    assert 'name="caps5_total"' in page
    assert 'name="madrs_total"' in page
    assert 'name="pcl5_total"' not in page
    assert 'name="cssrs_risk"' not in page

    data = {"caps5_total": "41", "caps5_total_unit": "{score}", "madrs_total_unit": "{score}"}
    response = riley.post(_add(course, "instruments"), data | {"measured_at": MEASURED_AT}, headers=HTMX)
    assert response.status_code == 200
    entry = ScreeningMeasurement.objects.get(field="caps5_total", value=41)
    assert entry.entered_by == cast.riley
    # Anything else is refused by the service.
    before = ScreeningMeasurement.objects.count()
    refused = riley.post(_add(course, "vitals"), _bp("120", "80"), headers=HTMX)
    assert refused.status_code == 403
    assert "interview totals" in refused.content.decode()
    assert ScreeningMeasurement.objects.count() == before


# Entering data --------------------------------------------------------------------------------------
def test_adding_a_blood_pressure_reading_with_htmx_answers_the_section_and_the_panel(cast: Cast) -> None:
    course = _screening_course(cast)
    response = client_for(cast.carmen).post(_add(course, "vitals"), _bp("128", "82"), headers=HTMX)
    body = response.content.decode()

    assert response.status_code == 200
    assert "<html" not in body
    assert body.startswith('<section class="card screening-section" id="section-vitals"')
    assert "<strong>Systolic BP</strong> 128 mmHg" in body
    assert "<strong>Diastolic BP</strong> 82 mmHg" in body
    assert "Saved: Systolic BP 128 mmHg, Diastolic BP 82 mmHg." in body
    assert 'id="eligibility" aria-labelledby="eligibility-heading" hx-swap-oob="true"' in body
    # One reading is not enough for the hypertension criterion: the panel says so.
    assert "Systolic BP: 2 readings needed, 1 recorded" in body

    rows = ScreeningMeasurement.objects.filter(record__course=course).order_by("field")
    assert [(r.field, r.value, r.unit, r.entered_by) for r in rows] == [
        ("diastolic_bp", Decimal(82), "mm[Hg]", cast.carmen),
        ("systolic_bp", Decimal(128), "mm[Hg]", cast.carmen),
    ]
    # The time entered is the site's wall clock (Alder Clinic: America/Chicago, UTC-6 in January).
    assert rows[0].measured_at == datetime(2026, 1, 5, 15, 30, tzinfo=UTC)
    latest = eligibility_latest(course)
    assert latest is not None
    assert latest.overall == "incomplete"


def test_adding_without_htmx_redirects_back_to_the_section(cast: Cast) -> None:
    course = _screening_course(cast)
    client = client_for(cast.carmen)
    response = client.post(_add(course, "vitals"), _bp("128", "82"))
    assert response.status_code == 302
    assert response["Location"] == f"{_page(course)}#section-vitals"
    page = client.get(_page(course)).content.decode()
    assert "Saved: Systolic BP 128 mmHg, Diastolic BP 82 mmHg." in page
    assert ScreeningMeasurement.objects.filter(record__course=course).count() == 2


def test_an_impossible_value_is_shown_next_to_its_field_and_nothing_is_saved(cast: Cast) -> None:
    course = _screening_course(cast)
    response = client_for(cast.carmen).post(_add(course, "vitals"), _bp("128", "820"), headers=HTMX)
    body = response.content.decode()

    assert response.status_code == 422
    block = _field_block(body, "id_vitals_diastolic_bp")
    assert "has-error" in block
    assert "Diastolic BP 820 mm[Hg] is outside the possible range 20–200 mm[Hg]" in block
    assert 'value="128"' in body  # what was typed is kept
    # The systolic value was fine, but a reading goes in whole or not at all.
    assert not ScreeningMeasurement.objects.exists()
    assert not EligibilityEvaluation.objects.exists()


def test_an_impossible_value_without_htmx_shows_the_page_with_the_error(cast: Cast) -> None:
    course = _screening_course(cast)
    response = client_for(cast.carmen).post(
        _add(course, "ecg"), {"qtc": "75", "qtc_unit": "ms", "measured_at": MEASURED_AT}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "<html" in page
    assert "QTc 75 ms is outside the possible range 250–750 ms" in _field_block(page, "id_ecg_qtc")
    assert not ScreeningMeasurement.objects.exists()


def test_a_wrong_unit_is_refused(cast: Cast) -> None:
    course = _screening_course(cast)
    data = {"creatinine": "1.1", "creatinine_unit": "g/L", "measured_at": MEASURED_AT}
    response = client_for(cast.carmen).post(_add(course, "labs"), data, headers=HTMX)
    assert response.status_code == 422
    block = _field_block(response.content.decode(), "id_labs_creatinine")
    assert "Creatinine is recorded in umol/L or mg/dL" in block
    assert not ScreeningMeasurement.objects.exists()


def test_a_lab_value_keeps_its_unit_and_reference_range(cast: Cast) -> None:
    course = _screening_course(cast)
    data = {
        "bilirubin": "0.7",
        "bilirubin_unit": "mg/dL",
        "bilirubin_low": "0.1",
        "bilirubin_high": "1.2",
        "measured_at": MEASURED_AT,
    }
    response = client_for(cast.carmen).post(_add(course, "labs"), data, headers=HTMX)
    assert response.status_code == 200
    assert "<strong>Bilirubin</strong> 0.7 mg/dL" in response.content.decode()
    assert "reference 0.1–1.2 mg/dL" in response.content.decode()
    entry = ScreeningMeasurement.objects.get()
    assert (entry.unit, entry.reference_low, entry.reference_high) == (
        "mg/dL",
        Decimal("0.1"),
        Decimal("1.2"),
    )


def test_an_empty_add_form_asks_for_a_value(cast: Cast) -> None:
    course = _screening_course(cast)
    response = client_for(cast.carmen).post(_add(course, "body"), {"measured_at": MEASURED_AT}, headers=HTMX)
    assert response.status_code == 422
    assert "Enter at least one value." in response.content.decode()
    assert not ScreeningRecord.objects.exists()


def test_a_psychiatric_diagnosis_is_entered_with_its_code(cast: Cast) -> None:
    course = _screening_course(cast)
    data = {"condition": "PTSD after assault", "code": "ptsd", "onset": "2019-05-01", "current": "on"}
    response = client_for(cast.carmen).post(_add(course, "psychiatric_history"), data, headers=HTMX)
    assert response.status_code == 200
    assert "<strong>PTSD after assault</strong> PTSD" in response.content.decode()
    item = HistoryItem.objects.get()
    assert (item.category, item.code, item.current) == ("psychiatric", "ptsd", True)


def test_a_future_onset_is_shown_next_to_the_field(cast: Cast) -> None:
    course = _screening_course(cast)
    data = {"condition": "Hepatitis B", "category": "hepatic", "onset": "2999-01-01"}
    response = client_for(cast.carmen).post(_add(course, "medical_history"), data, headers=HTMX)
    assert response.status_code == 422
    assert "cannot be in the future" in _field_block(response.content.decode(), "id_medical_history_onset")
    assert not HistoryItem.objects.exists()


def test_a_medication_shows_its_class_and_washout(cast: Cast) -> None:
    course = _screening_course(cast)
    data = {"name": "fluoxetine", "drug_class": "ssri_long_half_life", "dose": "20 mg", "start": "2024-01-01"}
    response = client_for(cast.carmen).post(_add(course, "medications"), data, headers=HTMX)
    assert response.status_code == 200
    assert "SSRI with a long half-life, washout 35 days" in response.content.decode()


def test_yes_no_findings_and_the_cssrs_risk_are_recorded(cast: Cast) -> None:
    course = _screening_course(cast)
    client = client_for(cast.carmen)
    preg = client.post(
        _add(course, "pregnancy"), {"pregnancy_test_positive": "no", "lactating": "yes"}, headers=HTMX
    )
    assert preg.status_code == 200
    assert "<dt>Lactating (breastfeeding)</dt><dd>yes</dd>" in preg.content.decode()
    risk = client.post(
        _add(course, "instruments"),
        {"cssrs_risk": "moderate", "measured_at": MEASURED_AT},
        headers=HTMX,
    )
    assert risk.status_code == 200
    assert "<dt>C-SSRS screener risk</dt><dd>Moderate</dd>" in risk.content.decode()
    record = ScreeningRecord.objects.get(course=course)
    assert record.cssrs_risk == "moderate"


# Corrections and completion ---------------------------------------------------------------------
def test_marking_an_entry_in_error_keeps_it_and_changes_the_panel(cast: Cast) -> None:
    course = _eligible_course(cast)
    qtc = ScreeningMeasurement.objects.get(record__course=course, field="qtc")
    url = f"/courses/{course.public_id}/screening/entries/measurements/{qtc.public_id}/error/"
    response = client_for(cast.carmen).post(url, {"reason": "Typed from the wrong tracing."}, headers=HTMX)
    body = response.content.decode()

    assert response.status_code == 200
    assert body.startswith('<section class="card screening-section" id="section-ecg"')
    assert '<li class="entry in-error">' in body
    assert "<del><strong>QTc</strong> 431 ms" in body
    assert '<span class="badge bad">Entered in error</span> Typed from the wrong tracing.' in body
    assert _overall(body) == "Incomplete"
    assert "Missing: QTc: a value needed, 0 recorded." in body

    qtc.refresh_from_db()
    assert qtc.entered_in_error
    assert qtc.error_reason == "Typed from the wrong tracing."
    latest = eligibility_latest(course)
    assert latest is not None
    assert latest.overall == "incomplete"


def test_marking_in_error_needs_a_reason(cast: Cast) -> None:
    course = _eligible_course(cast)
    qtc = ScreeningMeasurement.objects.get(record__course=course, field="qtc")
    url = f"/courses/{course.public_id}/screening/entries/measurements/{qtc.public_id}/error/"
    response = client_for(cast.carmen).post(url, {"reason": " "}, headers=HTMX)
    assert response.status_code == 422
    block = _field_block(response.content.decode(), f"id_err_{qtc.public_id.hex[:8]}_reason")
    assert "A reason is required" in block
    qtc.refresh_from_db()
    assert not qtc.entered_in_error


def test_an_entry_of_another_course_is_not_found(cast: Cast) -> None:
    course = _eligible_course(cast)
    other = _screening_course(cast)
    qtc = ScreeningMeasurement.objects.get(record__course=course, field="qtc")
    url = f"/courses/{other.public_id}/screening/entries/measurements/{qtc.public_id}/error/"
    assert client_for(cast.carmen).post(url, {"reason": "x"}, headers=HTMX).status_code == 404
    qtc.refresh_from_db()
    assert not qtc.entered_in_error


def test_section_complete_toggles(cast: Cast) -> None:
    course = _screening_course(cast)
    client = client_for(cast.carmen)
    url = f"/courses/{course.public_id}/screening/sections/medications/complete/"

    on = client.post(url, {"complete": "on"}, headers=HTMX)
    assert on.status_code == 200
    assert 'name="complete" id="id_done_medications_complete" checked' in on.content.decode()
    assert "Medications marked complete." in on.content.decode()
    assert 'hx-swap-oob="true"' in on.content.decode()
    assert ScreeningRecord.objects.get(course=course).sections_complete == ["medications"]

    off = client.post(url, {}, headers=HTMX)
    assert off.status_code == 200
    assert "checked" not in off.content.decode().split('id="id_done_medications_complete"')[1][:20]
    assert ScreeningRecord.objects.get(course=course).sections_complete == []


def test_an_unknown_section_is_not_found(cast: Cast) -> None:
    course = _screening_course(cast)
    response = client_for(cast.carmen).post(_add(course, "tarot"), {}, headers=HTMX)
    assert response.status_code == 404


# Overrides ------------------------------------------------------------------------------------------
def test_a_physician_overrides_a_criterion_and_it_shows_on_panel_and_summary(cast: Cast) -> None:
    course = _screening_course(cast)
    client = client_for(cast.priya)
    page = client.get(_page(course)).content.decode()
    assert 'name="criterion_code" value="caps5-severity"' in page
    # The protocol forbids overriding the QTc criterion; the panel says so instead of a form.
    assert 'name="criterion_code" value="qtc"' not in page
    assert "The protocol does not allow overriding this criterion." in page

    response = _override(client, cast, course, "caps5-severity")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<section class="card eligibility" id="eligibility"')
    assert (
        "Overridden by Dr Priya Natarajan: CAPS-5 given by an outside rater last week: 34; "
        "our interview is booked."
    ) in body
    assert "Override of caps5-severity signed and recorded." in body
    assert 'name="criterion_code" value="caps5-severity"' not in body

    override = EligibilityOverride.objects.get(course=course)
    assert (override.criterion_code, override.physician) == ("caps5-severity", cast.priya)
    latest = eligibility_latest(course)
    assert latest is not None
    caps5 = next(c for c in latest.criteria if c["code"] == "caps5-severity")
    assert (caps5["status"], caps5["overridden"]) == ("met", True)

    summary = client.get(f"/courses/{course.public_id}/eligibility/summary/").content.decode()
    assert "Overridden by Dr Priya Natarajan: CAPS-5 given by an outside rater" in summary
    assert "<td>caps5-severity</td>" in summary
    assert "<td>Dr Priya Natarajan</td>" in summary
    assert "Approved, valid" in summary


def test_an_override_with_a_wrong_password_is_refused_next_to_the_field(cast: Cast) -> None:
    course = _screening_course(cast)
    response = _override(client_for(cast.priya), cast, course, "caps5-severity", password="nope")
    assert response.status_code == 403
    body = response.content.decode()
    assert "has-error" in _field_block(body, "id_ov_caps5-severity_password")
    assert '<details class="override-form" open>' in body
    assert not EligibilityOverride.objects.exists()


def test_a_criterion_the_protocol_protects_cannot_be_overridden(cast: Cast) -> None:
    course = _screening_course(cast)
    response = _override(client_for(cast.priya), cast, course, "qtc")
    assert response.status_code == 422
    assert "the protocol does not allow overriding" in response.content.decode()
    assert not EligibilityOverride.objects.exists()


def test_a_coordinator_is_offered_no_override_and_is_refused_one(cast: Cast) -> None:
    course = _screening_course(cast)
    carmen = client_for(cast.carmen)
    page = carmen.get(_page(course)).content.decode()
    assert 'name="criterion_code"' not in page
    assert "/eligibility/overrides/" not in page

    data = {"criterion_code": "caps5-severity", "reason": "x", "password": PASSWORD, "otp_code": ""}
    response = carmen.post(f"/courses/{course.public_id}/eligibility/overrides/", data)
    assert response.status_code == 403
    assert not EligibilityOverride.objects.exists()


# History and summary ----------------------------------------------------------------------------
def test_the_history_lists_each_evaluation_with_its_trigger(cast: Cast) -> None:
    course = _eligible_course(cast)
    page = client_for(cast.alice).get(f"/courses/{course.public_id}/eligibility/history/").content.decode()
    assert page.count("<tr><td") == EligibilityEvaluation.objects.filter(course=course).count()
    assert "C-SSRS risk low" in page
    assert '<span class="badge ok">Eligible</span>' in page
    assert '<span class="badge warn">Incomplete</span>' in page


def test_the_summary_names_no_patient_and_lists_every_criterion(cast: Cast) -> None:
    course = _eligible_course(cast)
    response = client_for(cast.priya).get(f"/courses/{course.public_id}/eligibility/summary/")
    page = response.content.decode()

    assert response.status_code == 200
    assert course.patient.study_id in page
    assert "Jordan" not in page
    assert "Example" not in page
    assert "1985" not in page  # nor the birth date
    assert page.count('<tr class="criterion">') == 13
    assert _overall(page) == "Eligible"
    assert f"version {course.protocol_version.version}" in page
    assert "Physician&#x27;s sign-off" in page or "Physician's sign-off" in page
    assert 'class="muted no-print"' in page


def test_a_reference_range_upside_down_or_a_future_time_is_refused(cast: Cast) -> None:
    course = _screening_course(cast)
    client = client_for(cast.carmen)
    data = {"alt": "30", "alt_unit": "U/L", "alt_low": "56", "alt_high": "7", "measured_at": MEASURED_AT}
    upside_down = client.post(_add(course, "labs"), data, headers=HTMX)
    assert upside_down.status_code == 422
    assert "must be at least reference_low" in _field_block(upside_down.content.decode(), "id_labs_alt")

    future = client.post(
        _add(course, "ecg"), {"qtc": "431", "qtc_unit": "ms", "measured_at": "2999-01-01T09:00"}, headers=HTMX
    )
    assert future.status_code == 422
    assert "cannot be in the future" in _field_block(future.content.decode(), "id_ecg_measured_at")
    assert not ScreeningMeasurement.objects.exists()


def test_the_chart_links_each_course_to_its_screening_page(cast: Cast) -> None:
    course = _screening_course(cast)
    chart = client_for(cast.carmen).get(f"/patients/{course.patient.public_id}/").content.decode()
    assert f'<a href="{_page(course)}">Screening and eligibility</a>' in chart


def test_a_candidate_course_offers_no_entry_yet(cast: Cast) -> None:
    version = load_shipped_protocol()
    course = course_open(actor=actor_of(cast.carmen), patient=make_patient(cast), protocol_version=version)
    page = client_for(cast.carmen).get(_page(course)).content.decode()
    assert "Screening data are entered once the course has moved to screening" in page
    assert "/screening/sections/" not in page
    response = client_for(cast.carmen).post(_add(course, "body"), {"weight": "70", "weight_unit": "kg"})
    assert response.status_code == 422
    assert not ScreeningMeasurement.objects.exists()


def test_an_override_without_htmx_redirects_to_the_panel(cast: Cast) -> None:
    course = _screening_course(cast)
    client = client_for(cast.priya)
    data = {
        "criterion_code": "hepatic",
        "reason": "Liver panel from the referring clinic, 2 weeks old, normal.",
        "password": PASSWORD,
        "otp_code": next_code(cast.priya),
    }
    response = client.post(f"/courses/{course.public_id}/eligibility/overrides/", data)
    assert response.status_code == 302
    assert response["Location"] == f"{_page(course)}#eligibility"
    page = client.get(_page(course)).content.decode()
    assert "Override of hepatic signed and recorded." in page
    assert "Overridden by Dr Priya Natarajan: Liver panel from the referring clinic" in page
    assert EligibilityOverride.objects.filter(course=course, criterion_code="hepatic").exists()
