"""Patient pages through the test client: list, registration, chart, consent, visits and notes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from haven.audit.models import AuditEntry
from haven.core.testing import (
    PASSWORD,
    SAMPLE_PDF,
    SAMPLE_SIGNATURE,
    Cast,
    actor_of,
    client_for,
    load_shipped_protocol,
    make_active_consent_document,
    make_eligible_screening,
    make_enrolled_course,
    make_patient,
)
from haven.core.testing import otp_code as next_code
from haven.core.time import local, now, today_at
from haven.patients.models import (
    ConsentDocument,
    ConsentRecord,
    CourseStatus,
    CourseTransition,
    EnrollmentCourse,
    Patient,
    PatientIdentity,
    Visit,
    VisitNote,
    VisitNoteAddendum,
    VisitStatus,
)
from haven.patients.services import course_open, course_transition

pytestmark = pytest.mark.django_db

SEARCH_NAME = "Rivera"


def _today() -> date:
    # "Today" is the site's own date (Alder Clinic is in America/Chicago).
    return today_at("America/Chicago")


def _candidate_course(cast: Cast) -> EnrollmentCourse:
    version = load_shipped_protocol()
    make_active_consent_document(cast, version)
    return course_open(actor=actor_of(cast.carmen), patient=make_patient(cast), protocol_version=version)


def _eligible_course(cast: Cast) -> EnrollmentCourse:
    course = _candidate_course(cast)
    course = course_transition(actor=actor_of(cast.carmen), course=course, to="screening")
    make_eligible_screening(cast, course)
    return course_transition(actor=actor_of(cast.priya), course=course, to="eligible")


def _consent(client: Client, cast: Cast, course: EnrollmentCourse, signature: str) -> str:
    document = ConsentDocument.objects.get(activated_at__isnull=False)
    response = client.post(
        f"/courses/{course.public_id}/consent/",
        {
            "document": str(document.public_id),
            "patient_printed_name": "Jordan Example",
            "patient_signature_svg": signature,
            "password": PASSWORD,
            "otp_code": next_code(cast.carmen),
        },
    )
    return f"{response.status_code} {response.content.decode()}"


def _visit(course: EnrollmentCourse, code: str) -> Visit:
    return Visit.objects.get(course=course, code=code)


# The list ---------------------------------------------------------------------------------------
def test_the_list_finds_patients_by_study_id_and_by_name_for_identity_roles(cast: Cast) -> None:
    first = make_patient(cast)
    second = make_patient(cast, given_name="Robin", family_name=SEARCH_NAME, date_of_birth=date(1990, 2, 3))
    url = f"/sites/{cast.site_a.public_id}/patients/"

    page = client_for(cast.carmen).get(url, {"q": SEARCH_NAME}).content.decode()
    assert second.study_id in page
    assert first.study_id not in page
    assert SEARCH_NAME not in page.replace(f'value="{SEARCH_NAME}"', "")  # the list shows study IDs only
    assert "Register a patient" in page

    # A blinded rater searches by study ID only, and may not register.
    by_name = client_for(cast.riley).get(url, {"q": SEARCH_NAME}).content.decode()
    assert "No patients match." in by_name
    by_id = client_for(cast.riley).get(url, {"q": "0002"}).content.decode()
    assert second.study_id in by_id
    assert first.study_id not in by_id
    assert "Register a patient" not in by_id


def test_the_list_filters_by_course_status_and_overdue_visits(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=60))
    idle = make_patient(cast, given_name="Robin", family_name=SEARCH_NAME, date_of_birth=date(1990, 2, 3))
    client = client_for(cast.carmen)
    url = f"/sites/{cast.site_a.public_id}/patients/"
    # Overdue as the site's calendar has it: the list counts in the site's time zone.
    site_today = local(now(), cast.site_a.time_zone).date()
    overdue = Visit.objects.filter(
        course=course, status=VisitStatus.PLANNED, window_latest__lt=site_today
    ).count()
    assert overdue > 0

    everyone = client.get(url).content.decode()
    assert course.patient.study_id in everyone
    assert idle.study_id in everyone
    assert f'<span class="badge bad">{overdue} overdue</span>' in everyone

    on_study = client.get(url, {"status": "preparation"}).content.decode()
    assert course.patient.study_id in on_study
    assert idle.study_id not in on_study

    late = client.get(url, {"overdue": "on"}).content.decode()
    assert course.patient.study_id in late
    assert idle.study_id not in late

    assert "No patients match." in client.get(url, {"status": "screening"}).content.decode()


def test_the_list_is_refused_to_a_role_that_may_not_read_patients(cast: Cast) -> None:
    response = client_for(cast.pat).get(f"/sites/{cast.site_a.public_id}/patients/")
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


def test_the_list_needs_login(cast: Cast) -> None:
    response = Client().get(f"/sites/{cast.site_a.public_id}/patients/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


def test_an_outsider_gets_not_found_on_list_chart_and_visit(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today())
    oscar = client_for(cast.oscar)
    for url in (
        f"/sites/{cast.site_a.public_id}/patients/",
        f"/patients/{course.patient.public_id}/",
        f"/visits/{_visit(course, 'prep1').public_id}/",
        f"/courses/{course.public_id}/consent/",
    ):
        response = oscar.get(url)
        assert response.status_code == 404, url
        assert "Not found" in response.content.decode()
        assert course.patient.study_id not in response.content.decode()


# Registration -----------------------------------------------------------------------------------
REGISTRATION = {
    "sex_at_birth": "female",
    "given_name": "Jordan",
    "family_name": "Example",
    "date_of_birth": "1985-04-12",
    "phone": "+1 555 0100",
    "email": "",
    "address": "",
    "emergency_contact_name": "Sam Example",
    "emergency_contact_phone": "+1 555 0101",
}


def test_registering_a_patient_opens_the_chart(cast: Cast) -> None:
    client = client_for(cast.carmen)
    response = client.post(f"/sites/{cast.site_a.public_id}/patients/new/", REGISTRATION)
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/patients/{patient.public_id}/"
    identity = PatientIdentity.objects.get(patient=patient)
    assert (identity.family_name, identity.date_of_birth) == ("Example", date(1985, 4, 12))
    assert (patient.study_id, patient.registered_by) == ("ALD-0001", cast.carmen)
    chart = client.get(response.headers["Location"]).content.decode()
    assert "Registered ALD-0001." in chart
    assert "Possible duplicate" not in chart
    assert "Jordan" not in chart  # identifying data only on request


def test_registering_the_same_person_again_warns_of_a_possible_duplicate(cast: Cast) -> None:
    make_patient(cast)
    client = client_for(cast.carmen)
    response = client.post(f"/sites/{cast.site_a.public_id}/patients/new/", REGISTRATION, follow=True)
    assert Patient.objects.count() == 2
    assert "Possible duplicate of ALD-0001" in response.content.decode()


def test_registering_with_a_future_birth_date_shows_the_error_and_creates_nothing(cast: Cast) -> None:
    data = REGISTRATION | {"date_of_birth": (_today() + timedelta(days=2)).isoformat()}
    response = client_for(cast.carmen).post(f"/sites/{cast.site_a.public_id}/patients/new/", data)
    assert response.status_code == 422
    body = response.content.decode()
    assert '<p class="field-error" role="alert">cannot be in the future</p>' in body
    assert 'value="Example"' in body  # what was typed is kept
    assert not Patient.objects.exists()
    assert not PatientIdentity.objects.exists()


def test_a_therapist_may_not_register_patients(cast: Cast) -> None:
    response = client_for(cast.alice).post(f"/sites/{cast.site_a.public_id}/patients/new/", REGISTRATION)
    assert response.status_code == 403
    assert not Patient.objects.exists()


# Identity ---------------------------------------------------------------------------------------
def test_showing_identifying_data_is_audited(cast: Cast) -> None:
    patient = make_patient(cast)
    client = client_for(cast.carmen)
    chart = client.get(f"/patients/{patient.public_id}/").content.decode()
    assert "Show identifying data" in chart
    assert not AuditEntry.objects.filter(action="view").exists()

    response = client.post(f"/patients/{patient.public_id}/identity/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Jordan Example" in body
    assert "1985-04-12" in body
    assert "<html" not in body  # a partial, swapped into the chart
    entry = AuditEntry.objects.get(action="view")
    assert (entry.actor_user, entry.record_type) == (cast.carmen, "patients.patientidentity")
    assert entry.changes["patient"]["new"] == patient.study_id


def test_a_blinded_rater_cannot_see_identifying_data(cast: Cast) -> None:
    patient = make_patient(cast)
    client = client_for(cast.riley)
    chart = client.get(f"/patients/{patient.public_id}/")
    assert chart.status_code == 200
    assert "Show identifying data" not in chart.content.decode()
    response = client.post(f"/patients/{patient.public_id}/identity/", headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert "Jordan" not in response.content.decode()
    assert not AuditEntry.objects.filter(action="view").exists()


# The course -------------------------------------------------------------------------------------
def test_opening_a_course_and_moving_it_to_screening(cast: Cast) -> None:
    version = load_shipped_protocol()
    patient = make_patient(cast)
    client = client_for(cast.carmen)
    response = client.post(f"/patients/{patient.public_id}/courses/", {"protocol": str(version.public_id)})
    assert response.status_code == 302
    course = EnrollmentCourse.objects.get(patient=patient)
    assert course.status == CourseStatus.CANDIDATE

    chart = client.get(f"/patients/{patient.public_id}/").content.decode()
    assert '<option value="screening">Screening</option>' in chart
    assert 'value="eligible"' not in chart  # a medical decision: offered to physicians only

    response = client.post(f"/courses/{course.public_id}/transition/", {"status": "screening", "reason": ""})
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.status == CourseStatus.SCREENING
    assert "The course is now Screening." in client.get(response.headers["Location"]).content.decode()


def test_an_illegal_move_shows_the_error_and_changes_nothing(cast: Cast) -> None:
    course = _candidate_course(cast)
    response = client_for(cast.carmen).post(
        f"/courses/{course.public_id}/transition/", {"status": "treatment", "reason": "skip ahead"}
    )
    assert response.status_code == 422
    assert "cannot go from candidate to treatment" in response.content.decode()
    course.refresh_from_db()
    assert course.status == CourseStatus.CANDIDATE
    assert not CourseTransition.objects.exists()


def test_withdrawing_needs_a_reason(cast: Cast) -> None:
    course = _candidate_course(cast)
    response = client_for(cast.carmen).post(
        f"/courses/{course.public_id}/transition/", {"status": "withdrawn", "reason": " "}
    )
    assert response.status_code == 422
    assert "A reason is required" in response.content.decode()
    course.refresh_from_db()
    assert course.status == CourseStatus.CANDIDATE


# Consent ----------------------------------------------------------------------------------------
def test_the_consent_page_shows_the_document_and_the_signature_pad(cast: Cast) -> None:
    course = _eligible_course(cast)
    chart = client_for(cast.carmen).get(f"/patients/{course.patient.public_id}/").content.decode()
    assert f'href="/courses/{course.public_id}/consent/"' in chart
    page = client_for(cast.carmen).get(f"/courses/{course.public_id}/consent/").content.decode()
    document = ConsentDocument.objects.get()
    assert "Consent to MDMA-assisted therapy" in page
    assert f"/consent-documents/{document.public_id}/file/" in page
    assert "<canvas" in page
    assert 'name="patient_signature_svg"' in page
    assert "/static/patients/signature.js" in page


def test_consent_without_a_drawn_signature_shows_the_error(cast: Cast) -> None:
    course = _eligible_course(cast)
    result = _consent(client_for(cast.carmen), cast, course, signature="")
    assert result.startswith("422 ")
    assert "the patient&#x27;s drawn signature is missing or not a drawing" in result
    assert not ConsentRecord.objects.exists()
    course.refresh_from_db()
    assert course.status == CourseStatus.ELIGIBLE


def test_consent_with_signature_and_countersignature_is_recorded(cast: Cast) -> None:
    course = _eligible_course(cast)
    result = _consent(client_for(cast.carmen), cast, course, signature=SAMPLE_SIGNATURE)
    assert result.startswith("302 ")
    record = ConsentRecord.objects.get()
    assert (record.patient_signature_svg, record.patient_printed_name) == (SAMPLE_SIGNATURE, "Jordan Example")
    course.refresh_from_db()
    assert course.status == CourseStatus.CONSENTED


def test_the_consent_document_streams_to_site_staff_only(cast: Cast) -> None:
    document = make_active_consent_document(cast, load_shipped_protocol())
    response = client_for(cast.alice).get(f"/consent-documents/{document.public_id}/file/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == SAMPLE_PDF  # type: ignore[attr-defined]
    assert client_for(cast.oscar).get(f"/consent-documents/{document.public_id}/file/").status_code == 404


def test_uploading_and_activating_a_consent_document(cast: Cast) -> None:
    version = load_shipped_protocol()
    client = client_for(cast.carmen)
    url = f"/sites/{cast.site_a.public_id}/consent-documents/"
    fields = {"protocol_version": str(version.public_id), "version_label": "v2", "title": "Consent v2"}

    refused = client.post(url, fields | {"file": SimpleUploadedFile("notes.txt", b"just text")})
    assert refused.status_code == 422
    assert "must be a PDF document" in refused.content.decode()
    assert not ConsentDocument.objects.exists()

    response = client.post(url, fields | {"file": SimpleUploadedFile("consent v2.pdf", SAMPLE_PDF)})
    assert response.status_code == 302
    document = ConsentDocument.objects.get()
    assert document.activated_at is None
    assert "not active" in client.get(url).content.decode()

    response = client.post(f"/consent-documents/{document.public_id}/activate/")
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.activated_at is not None
    assert '<span class="badge ok">in use</span>' in client.get(url).content.decode()


def test_a_therapist_cannot_manage_consent_documents(cast: Cast) -> None:
    assert client_for(cast.alice).get(f"/sites/{cast.site_a.public_id}/consent-documents/").status_code == 403


# Enrollment and visits --------------------------------------------------------------------------
def test_enrolling_plans_the_schedule(cast: Cast) -> None:
    course = _eligible_course(cast)
    client = client_for(cast.carmen)
    assert _consent(client, cast, course, signature=SAMPLE_SIGNATURE).startswith("302 ")
    enrolled_on = _today() - timedelta(days=1)
    response = client.post(f"/courses/{course.public_id}/enroll/", {"enrolled_on": enrolled_on.isoformat()})
    assert response.status_code == 302
    course.refresh_from_db()
    assert (course.status, course.enrolled_on) == (CourseStatus.PREPARATION, enrolled_on)
    assert Visit.objects.filter(course=course).count() == 40
    prep1 = _visit(course, "prep1")
    chart = client.get(response.headers["Location"]).content.decode()
    assert "Preparation session 1" in chart
    assert f"{prep1.window_earliest:%Y-%m-%d} – {prep1.window_latest:%Y-%m-%d}" in chart
    assert f'href="/visits/{prep1.public_id}/"' in chart


def test_a_visit_outside_its_window_shows_a_deviation_on_the_chart(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=30))
    prep1 = _visit(course, "prep1")
    days_late = (_today() - prep1.window_latest).days
    client = client_for(cast.alice)
    response = client.post(f"/visits/{prep1.public_id}/occurred/", {"occurred_on": _today().isoformat()})
    assert response.status_code == 302
    assert "a protocol deviation was recorded" in client.get(response.headers["Location"]).content.decode()
    prep1.refresh_from_db()
    assert (prep1.status, prep1.occurred_on) == (VisitStatus.OCCURRED, _today())
    chart = client.get(f"/patients/{course.patient.public_id}/").content.decode()
    assert "Visit outside its window" in chart
    assert f"{days_late} day(s) after its window" in chart


def test_recording_a_visit_in_the_future_shows_the_error(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today())
    prep1 = _visit(course, "prep1")
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    response = client_for(cast.alice).post(f"/visits/{prep1.public_id}/occurred/", {"occurred_on": tomorrow})
    assert response.status_code == 422
    assert "cannot be in the future" in response.content.decode()
    prep1.refresh_from_db()
    assert prep1.status == VisitStatus.PLANNED


# Notes ------------------------------------------------------------------------------------------
def _note_data(cast: Cast, **overrides: object) -> dict[str, object]:
    return {
        "section_0": "Explained the course of a session.",
        "section_1": "To feel safe with memories.",
        "free_text": "Calm throughout.",
        "attendees": [str(cast.alice.public_id), str(cast.ben.public_id)],
        "duration_minutes": "90",
    } | overrides


def _occurred_prep1(cast: Cast) -> Visit:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=10))
    prep1 = _visit(course, "prep1")
    response = client_for(cast.alice).post(
        f"/visits/{prep1.public_id}/occurred/", {"occurred_on": _today().isoformat()}
    )
    assert response.status_code == 302
    return prep1


def test_the_note_editor_has_one_box_per_heading_of_the_protocol(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    page = client_for(cast.alice).get(f"/visits/{prep1.public_id}/").content.decode()
    for heading in ("Education given", "Intentions", "Safety plan", "Touch consent discussed"):
        assert heading in page
    assert 'hx-trigger="change delay:1s, submit"' in page
    assert "Dr Alice Adams (Therapist)" in page


def test_saving_and_signing_a_note_locks_it_and_completes_the_visit(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    client = client_for(cast.alice)
    saved = client.post(f"/visits/{prep1.public_id}/note/", _note_data(cast), headers={"HX-Request": "true"})
    assert saved.status_code == 200
    assert "Saved at" in saved.content.decode()
    note = VisitNote.objects.get(visit=prep1)
    assert note.sections["Education given"] == "Explained the course of a session."
    assert set(note.attendees.all()) == {cast.alice, cast.ben}

    refused = client.post(
        f"/visits/{prep1.public_id}/note/sign/", {"password": "wrong", "otp_code": next_code(cast.alice)}
    )
    assert refused.status_code == 403
    assert "password is incorrect" in refused.content.decode()
    note.refresh_from_db()
    assert note.locked_at is None

    response = client.post(
        f"/visits/{prep1.public_id}/note/sign/", {"password": PASSWORD, "otp_code": next_code(cast.alice)}
    )
    assert response.status_code == 302
    note.refresh_from_db()
    prep1.refresh_from_db()
    assert note.locked_at is not None
    assert (prep1.status, prep1.duration_minutes) == (VisitStatus.COMPLETED, 90)
    page = client.get(f"/visits/{prep1.public_id}/").content.decode()
    assert "Completed (note signed)" in page
    assert "Signed and locked" in page
    assert "Authored by Dr Alice Adams" in page
    assert '<span class="badge ok">valid</span>' in page
    assert "Save draft" not in page

    again = client.post(f"/visits/{prep1.public_id}/note/", _note_data(cast, free_text="changed"))
    assert again.status_code == 409
    note.refresh_from_db()
    assert note.free_text == "Calm throughout."


def test_signing_a_note_needs_the_staff_the_protocol_requires(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    client = client_for(cast.alice)
    client.post(f"/visits/{prep1.public_id}/note/", _note_data(cast, attendees=[str(cast.alice.public_id)]))
    response = client.post(
        f"/visits/{prep1.public_id}/note/sign/", {"password": PASSWORD, "otp_code": next_code(cast.alice)}
    )
    assert response.status_code == 422
    assert "this visit needs 2 therapist(s) present; the note lists 1" in response.content.decode()
    assert VisitNote.objects.get().locked_at is None


def test_an_addendum_after_the_note_is_locked(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    client = client_for(cast.alice)
    client.post(f"/visits/{prep1.public_id}/note/", _note_data(cast))
    client.post(
        f"/visits/{prep1.public_id}/note/sign/", {"password": PASSWORD, "otp_code": next_code(cast.alice)}
    )
    response = client.post(
        f"/visits/{prep1.public_id}/note/addenda/",
        {
            "text": "The patient called later: all well.",
            "password": PASSWORD,
            "otp_code": next_code(cast.alice),
        },
    )
    assert response.status_code == 302
    addendum = VisitNoteAddendum.objects.get()
    assert (addendum.author, addendum.note.visit) == (cast.alice, prep1)
    page = client.get(f"/visits/{prep1.public_id}/").content.decode()
    assert "The patient called later: all well." in page
    assert "Dr Alice Adams" in page
    assert VisitNote.objects.get().free_text == "Calm throughout."


def test_a_blinded_rater_does_not_see_therapy_notes(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    client_for(cast.alice).post(f"/visits/{prep1.public_id}/note/", _note_data(cast))
    page = client_for(cast.riley).get(f"/visits/{prep1.public_id}/").content.decode()
    assert "Preparation session 1" in page
    assert "Visit note" not in page
    assert "Calm throughout." not in page
