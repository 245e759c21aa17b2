"""The patients API: registry, identity, courses, consent, visits and notes, through HTTP."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from haven.audit.models import AuditEntry, Signature
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
    otp_code,
)
from haven.core.time import today_at
from haven.patients import services
from haven.patients.models import (
    ConsentDocument,
    ConsentRecord,
    CourseTransition,
    Deviation,
    EnrollmentCourse,
    Patient,
    PatientIdentity,
    Visit,
    VisitNote,
    VisitNoteAddendum,
)
from haven.protocols.models import ProtocolVersion

pytestmark = pytest.mark.django_db

PREPARATION_HEADINGS = (
    "Education given",
    "Intentions",
    "Safety plan",
    "Touch consent discussed",
    "Plan until the next visit",
)


def _json(client: Client, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return getattr(client, method)(
        path, data=json.dumps(body) if body is not None else None, content_type="application/json"
    )


def _today() -> date:
    # "Today" is the site's own date (Alder Clinic is in America/Chicago).
    return today_at("America/Chicago")


def _assert_not_found(response: Any) -> None:
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"


def _assert_unauthenticated(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "not_authenticated"


def _course(cast: Cast, *, to: str = "candidate") -> EnrollmentCourse:
    """A course on mdma-ptsd moved (by the real services) to ``to``: candidate, screening or eligible."""
    version = load_shipped_protocol()
    course = services.course_open(
        actor=actor_of(cast.carmen), patient=make_patient(cast), protocol_version=version
    )
    if to in ("screening", "eligible"):
        course = services.course_transition(actor=actor_of(cast.carmen), course=course, to="screening")
    if to == "eligible":
        make_eligible_screening(cast, course)
        course = services.course_transition(actor=actor_of(cast.priya), course=course, to="eligible")
    return course


def _consented(cast: Cast) -> EnrollmentCourse:
    course = _course(cast, to="eligible")
    document = make_active_consent_document(cast, course.protocol_version)
    services.consent_record(
        actor=actor_of(cast.carmen),
        course=course,
        document=document,
        patient_printed_name="Jordan Example",
        patient_signature_svg=SAMPLE_SIGNATURE,
        password=PASSWORD,
        otp_code=otp_code(cast.carmen),
    )
    course.refresh_from_db()
    return course


def _visit(course: EnrollmentCourse, code: str) -> Visit:
    return Visit.objects.get(course=course, code=code)


def _occurred_prep1(cast: Cast) -> Visit:
    """Preparation session 1, due today (enrolled a week ago), recorded as taken place today."""
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=7))
    return services.visit_record_occurrence(
        actor=actor_of(cast.alice), visit=_visit(course, "prep1"), occurred_on=_today()
    )


def _draft_note(cast: Cast, visit: Visit) -> VisitNote:
    return services.visit_note_save(
        actor=actor_of(cast.alice),
        visit=visit,
        sections={"Intentions": "Safety and trust"},
        free_text="Went well.",
        attendees=[cast.alice, cast.ben],
        duration_minutes=90,
    )


def _signed_note(cast: Cast, visit: Visit) -> VisitNote:
    note = _draft_note(cast, visit)
    return services.visit_note_sign(
        actor=actor_of(cast.alice), note=note, password=PASSWORD, otp_code=otp_code(cast.alice)
    )


# Patient list -----------------------------------------------------------------------------------
def test_patient_list_shows_study_ids_course_and_next_visit(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=3))
    response = client_for(cast.riley).get(f"/api/v1/sites/{cast.site_a.public_id}/patients")
    assert response.status_code == 200, response.content
    [row] = response.json()
    prep1 = _visit(course, "prep1")
    assert row["id"] == str(course.patient.public_id)
    assert row["study_id"] == "ALD-0001"
    assert row["sex_at_birth"] == "female"
    assert row["possible_duplicate_of"] is None
    assert (row["course_id"], row["course_status"]) == (str(course.public_id), "preparation")
    assert (row["protocol_code"], row["protocol_version"]) == ("mdma-ptsd", "1.0")
    # The baseline (due on enrollment, window a week) is still open and comes first.
    assert row["next_visit"]["code"] == "baseline"
    assert row["overdue"] == 0
    assert "Jordan" not in response.content.decode()
    assert prep1.status == "planned"


def test_patient_list_filters_by_course_status_and_study_id(cast: Cast) -> None:
    screening = _course(cast, to="screening")
    other = make_patient(cast, given_name="Robin", family_name="Sample", date_of_birth=date(1990, 1, 2))
    client = client_for(cast.carmen)
    path = f"/api/v1/sites/{cast.site_a.public_id}/patients"
    by_status = client.get(path, {"status": "screening"}).json()
    assert [r["study_id"] for r in by_status] == [screening.patient.study_id]
    by_id = client.get(path, {"q": other.study_id}).json()
    assert [r["study_id"] for r in by_id] == [other.study_id]
    assert by_id[0]["course_id"] is None
    assert by_id[0]["next_visit"] is None


def test_patient_list_shows_overdue_visits_and_filters_on_them(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=30))
    make_patient(cast, given_name="Robin", family_name="Sample", date_of_birth=date(1990, 1, 2))
    client = client_for(cast.alice)
    path = f"/api/v1/sites/{cast.site_a.public_id}/patients"
    assert len(client.get(path).json()) == 2
    [row] = client.get(path, {"overdue": "true"}).json()
    assert row["study_id"] == course.patient.study_id
    expected = Visit.objects.filter(course=course, status="planned", window_latest__lt=_today()).count()
    assert row["overdue"] == expected >= 1


def test_patient_list_names_the_duplicate_by_study_id(cast: Cast) -> None:
    first = make_patient(cast)
    make_patient(cast, date_of_birth=date(1985, 4, 12))
    rows = client_for(cast.carmen).get(f"/api/v1/sites/{cast.site_a.public_id}/patients").json()
    assert [(r["study_id"], r["possible_duplicate_of"]) for r in rows] == [
        ("ALD-0001", None),
        ("ALD-0002", first.study_id),
    ]


def test_patient_list_with_an_unknown_status_is_a_validation_error(cast: Cast) -> None:
    response = client_for(cast.alice).get(
        f"/api/v1/sites/{cast.site_a.public_id}/patients", {"status": "on_holiday"}
    )
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["status"]


def test_patient_list_needs_login(cast: Cast) -> None:
    _assert_unauthenticated(Client().get(f"/api/v1/sites/{cast.site_a.public_id}/patients"))


def test_an_outsider_gets_404_for_another_sites_patient_list(cast: Cast) -> None:
    make_patient(cast)
    _assert_not_found(client_for(cast.oscar).get(f"/api/v1/sites/{cast.site_a.public_id}/patients"))


def test_a_pharmacist_may_not_open_the_patient_list(cast: Cast) -> None:
    make_patient(cast)
    response = client_for(cast.pat).get(f"/api/v1/sites/{cast.site_a.public_id}/patients")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


# Registration -----------------------------------------------------------------------------------
REGISTRATION = {
    "sex_at_birth": "male",
    "given_name": "Casey",
    "family_name": "Sample",
    "date_of_birth": "1979-11-03",
    "phone": "+1 555 0199",
    "email": "Casey@Example.test",
}


def test_a_coordinator_registers_a_patient_whose_identity_is_kept_apart(cast: Cast) -> None:
    response = _json(
        client_for(cast.carmen), "post", f"/api/v1/sites/{cast.site_a.public_id}/patients", REGISTRATION
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "site_id",
        "study_id",
        "sex_at_birth",
        "possible_duplicate_of",
        "registered_at",
    }
    assert (body["study_id"], body["sex_at_birth"], body["possible_duplicate_of"]) == (
        "ALD-0001",
        "male",
        None,
    )
    assert body["site_id"] == str(cast.site_a.public_id)
    patient = Patient.objects.get(public_id=body["id"])
    assert (patient.site, patient.registered_by) == (cast.site_a, cast.carmen)
    identity = PatientIdentity.objects.get(patient=patient)
    assert (identity.given_name, identity.date_of_birth, identity.email) == (
        "Casey",
        date(1979, 11, 3),
        "casey@example.test",
    )
    assert AuditEntry.objects.filter(action="create", record_id=str(patient.public_id)).exists()


def test_registration_warns_of_a_possible_duplicate(cast: Cast) -> None:
    first = make_patient(cast, given_name="Casey", family_name="Sample")
    response = _json(
        client_for(cast.carmen), "post", f"/api/v1/sites/{cast.site_a.public_id}/patients", REGISTRATION
    )
    assert response.status_code == 201
    assert response.json()["possible_duplicate_of"] == first.study_id
    assert Patient.objects.get(public_id=response.json()["id"]).possible_duplicate_of == first


def test_a_therapist_may_not_register_a_patient(cast: Cast) -> None:
    response = _json(
        client_for(cast.alice), "post", f"/api/v1/sites/{cast.site_a.public_id}/patients", REGISTRATION
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Patient.objects.exists()


def test_registration_needs_login(cast: Cast) -> None:
    _assert_unauthenticated(
        _json(Client(), "post", f"/api/v1/sites/{cast.site_a.public_id}/patients", REGISTRATION)
    )
    assert not Patient.objects.exists()


def test_an_outsider_cannot_register_a_patient_at_another_site(cast: Cast) -> None:
    _assert_not_found(
        _json(client_for(cast.oscar), "post", f"/api/v1/sites/{cast.site_a.public_id}/patients", REGISTRATION)
    )
    assert not Patient.objects.exists()


def test_registration_with_invalid_input_names_the_fields(cast: Cast) -> None:
    body = {**REGISTRATION, "sex_at_birth": "robot"}
    del body["date_of_birth"]
    response = _json(client_for(cast.carmen), "post", f"/api/v1/sites/{cast.site_a.public_id}/patients", body)
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"sex_at_birth", "date_of_birth"}
    assert not Patient.objects.exists()


def test_registration_with_a_birth_date_in_the_future_is_refused(cast: Cast) -> None:
    body = {**REGISTRATION, "date_of_birth": (_today() + timedelta(days=2)).isoformat()}
    response = _json(client_for(cast.carmen), "post", f"/api/v1/sites/{cast.site_a.public_id}/patients", body)
    assert response.status_code == 422
    assert response.json()["fields"] == {"date_of_birth": ["cannot be in the future"]}
    assert not Patient.objects.exists()
    assert not PatientIdentity.objects.exists()


# One patient ------------------------------------------------------------------------------------
def test_patient_get_shows_the_courses_and_no_identifying_data(cast: Cast) -> None:
    course = _course(cast, to="screening")
    response = client_for(cast.sam).get(f"/api/v1/patients/{course.patient.public_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["study_id"] == course.patient.study_id
    assert body["courses"] == [
        {
            "id": str(course.public_id),
            "status": "screening",
            "protocol_code": "mdma-ptsd",
            "protocol_version": "1.0",
            "enrolled_on": None,
        }
    ]
    assert "Jordan" not in response.content.decode()
    assert "1985-04-12" not in response.content.decode()


def test_patient_get_needs_login(cast: Cast) -> None:
    _assert_unauthenticated(Client().get(f"/api/v1/patients/{make_patient(cast).public_id}"))


def test_an_outsider_gets_404_for_another_sites_patient(cast: Cast) -> None:
    _assert_not_found(client_for(cast.oscar).get(f"/api/v1/patients/{make_patient(cast).public_id}"))


def test_a_malformed_patient_id_is_a_validation_error(cast: Cast) -> None:
    response = client_for(cast.alice).get("/api/v1/patients/not-a-uuid")
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["patient_id"]


# Identity ---------------------------------------------------------------------------------------
def test_viewing_the_identity_returns_it_and_is_audited(cast: Cast) -> None:
    patient = make_patient(cast)
    response = client_for(cast.alice).get(
        f"/api/v1/patients/{patient.public_id}/identity", {"purpose": "call about next session"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["given_name"], body["family_name"], body["date_of_birth"], body["phone"]) == (
        "Jordan",
        "Example",
        "1985-04-12",
        "+1 555 0100",
    )
    assert body["study_id"] == patient.study_id
    entry = AuditEntry.objects.get(action="view")
    assert entry.actor_user == cast.alice
    assert entry.record_id == str(PatientIdentity.objects.get(patient=patient).public_id)
    assert entry.changes["purpose"]["new"] == "call about next session"
    assert entry.changes["patient"]["new"] == patient.study_id


def test_a_blinded_rater_may_not_see_identifying_data(cast: Cast) -> None:
    patient = make_patient(cast)
    response = client_for(cast.riley).get(f"/api/v1/patients/{patient.public_id}/identity")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "Jordan" not in response.content.decode()
    assert not AuditEntry.objects.filter(action="view").exists()


def test_identity_needs_login(cast: Cast) -> None:
    _assert_unauthenticated(Client().get(f"/api/v1/patients/{make_patient(cast).public_id}/identity"))
    assert not AuditEntry.objects.filter(action="view").exists()


def test_an_outsider_gets_404_for_another_sites_identity(cast: Cast) -> None:
    patient = make_patient(cast)
    _assert_not_found(client_for(cast.oscar).get(f"/api/v1/patients/{patient.public_id}/identity"))
    assert not AuditEntry.objects.filter(action="view").exists()


def test_identity_update_changes_only_the_fields_sent_and_keeps_the_reason(cast: Cast) -> None:
    patient = make_patient(cast)
    response = _json(
        client_for(cast.carmen),
        "patch",
        f"/api/v1/patients/{patient.public_id}/identity",
        {"phone": "+1 555 0142", "reason": "Patient has a new number"},
    )
    assert response.status_code == 200, response.content
    assert (response.json()["phone"], response.json()["given_name"]) == ("+1 555 0142", "Jordan")
    identity = PatientIdentity.objects.get(patient=patient)
    assert (identity.phone, identity.given_name, identity.date_of_birth) == (
        "+1 555 0142",
        "Jordan",
        date(1985, 4, 12),
    )
    entry = AuditEntry.objects.get(action="update", record_id=str(identity.public_id))
    assert entry.reason == "Patient has a new number"
    assert entry.changes["phone"] == {"old": "+1 555 0100", "new": "+1 555 0142"}


def test_identity_update_without_a_reason_changes_nothing(cast: Cast) -> None:
    patient = make_patient(cast)
    path = f"/api/v1/patients/{patient.public_id}/identity"
    client = client_for(cast.carmen)
    missing = _json(client, "patch", path, {"phone": "+1 555 0142"})
    assert missing.status_code == 422
    assert missing.json()["fields"] == {"reason": ["Field required"]}
    blank = _json(client, "patch", path, {"phone": "+1 555 0142", "reason": "  "})
    assert blank.status_code == 422
    assert blank.json()["code"] == "reason_required"
    assert PatientIdentity.objects.get(patient=patient).phone == "+1 555 0100"


def test_identity_update_with_an_invalid_email_names_the_field(cast: Cast) -> None:
    patient = make_patient(cast)
    response = _json(
        client_for(cast.carmen),
        "patch",
        f"/api/v1/patients/{patient.public_id}/identity",
        {"email": "not an address", "reason": "typo"},
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"email": ["must be a valid e-mail address"]}
    assert PatientIdentity.objects.get(patient=patient).email == ""


def test_an_outsider_cannot_change_another_sites_identity(cast: Cast) -> None:
    patient = make_patient(cast)
    response = _json(
        client_for(cast.oscar),
        "patch",
        f"/api/v1/patients/{patient.public_id}/identity",
        {"family_name": "Hijacked", "reason": "because"},
    )
    _assert_not_found(response)
    assert PatientIdentity.objects.get(patient=patient).family_name == "Example"


def test_identity_update_needs_login(cast: Cast) -> None:
    patient = make_patient(cast)
    response = _json(
        Client(), "patch", f"/api/v1/patients/{patient.public_id}/identity", {"phone": "1", "reason": "x"}
    )
    _assert_unauthenticated(response)
    assert PatientIdentity.objects.get(patient=patient).phone == "+1 555 0100"


# Courses ----------------------------------------------------------------------------------------
def test_a_coordinator_opens_a_course_as_candidate(cast: Cast) -> None:
    load_shipped_protocol()
    patient = make_patient(cast)
    response = _json(
        client_for(cast.carmen),
        "post",
        f"/api/v1/patients/{patient.public_id}/courses",
        {"protocol_code": "mdma-ptsd", "protocol_version": "1.0"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["protocol_code"], body["protocol_version"]) == (
        "candidate",
        "mdma-ptsd",
        "1.0",
    )
    assert (body["patient_id"], body["study_id"]) == (str(patient.public_id), patient.study_id)
    assert body["visits"] == body["consents"] == body["deviations"] == body["timeline"] == []
    course = EnrollmentCourse.objects.get(public_id=body["id"])
    assert (course.patient, course.status, course.protocol_version.version) == (patient, "candidate", "1.0")


def test_opening_a_course_on_an_unknown_protocol_names_the_field(cast: Cast) -> None:
    load_shipped_protocol()
    patient = make_patient(cast)
    response = _json(
        client_for(cast.carmen),
        "post",
        f"/api/v1/patients/{patient.public_id}/courses",
        {"protocol_code": "mdma-ptsd", "protocol_version": "9.9"},
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"protocol_version": ["no protocol mdma-ptsd 9.9 is loaded"]}
    assert not EnrollmentCourse.objects.exists()


def test_opening_a_second_open_course_on_the_same_protocol_is_a_conflict(cast: Cast) -> None:
    course = _course(cast)
    response = _json(
        client_for(cast.carmen),
        "post",
        f"/api/v1/patients/{course.patient.public_id}/courses",
        {"protocol_code": "mdma-ptsd", "protocol_version": "1.0"},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert EnrollmentCourse.objects.count() == 1


def test_a_therapist_may_not_open_a_course(cast: Cast) -> None:
    load_shipped_protocol()
    patient = make_patient(cast)
    response = _json(
        client_for(cast.alice),
        "post",
        f"/api/v1/patients/{patient.public_id}/courses",
        {"protocol_code": "mdma-ptsd", "protocol_version": "1.0"},
    )
    assert response.status_code == 403
    assert not EnrollmentCourse.objects.exists()


def test_an_outsider_cannot_open_a_course_for_another_sites_patient(cast: Cast) -> None:
    load_shipped_protocol()
    patient = make_patient(cast)
    body = {"protocol_code": "mdma-ptsd", "protocol_version": "1.0"}
    _assert_not_found(
        _json(client_for(cast.oscar), "post", f"/api/v1/patients/{patient.public_id}/courses", body)
    )
    _assert_unauthenticated(_json(Client(), "post", f"/api/v1/patients/{patient.public_id}/courses", body))
    assert not EnrollmentCourse.objects.exists()


def test_course_get_shows_visits_consents_and_timeline(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=3))
    response = client_for(cast.dana).get(f"/api/v1/courses/{course.public_id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["enrolled_on"]) == (
        "preparation",
        (_today() - timedelta(days=3)).isoformat(),
    )
    planned = list(Visit.objects.filter(course=course).order_by("target_date", "pk"))
    assert [v["code"] for v in body["visits"]] == [v.code for v in planned]
    baseline = body["visits"][0]
    assert (baseline["code"], baseline["kind"], baseline["status"], baseline["occurred_on"]) == (
        "baseline",
        "assessment",
        "planned",
        None,
    )
    assert baseline["window_latest"] == planned[0].window_latest.isoformat()
    record = ConsentRecord.objects.get(course=course)
    [consent] = body["consents"]
    assert (consent["id"], consent["document_id"], consent["withdrawn_at"]) == (
        str(record.public_id),
        str(record.document.public_id),
        None,
    )
    assert [e["kind"] for e in body["timeline"]].count("status") == CourseTransition.objects.filter(
        course=course
    ).count()
    assert "consent" in [e["kind"] for e in body["timeline"]]
    assert body["deviations"] == []


def test_course_get_needs_login_and_is_hidden_from_outsiders(cast: Cast) -> None:
    course = _course(cast)
    _assert_unauthenticated(Client().get(f"/api/v1/courses/{course.public_id}"))
    _assert_not_found(client_for(cast.oscar).get(f"/api/v1/courses/{course.public_id}"))


def test_a_transition_moves_the_course_and_is_recorded(cast: Cast) -> None:
    course = _course(cast)
    response = _json(
        client_for(cast.carmen),
        "post",
        f"/api/v1/courses/{course.public_id}/transitions",
        {"status": "screening"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "screening"
    assert response.json()["timeline"][0]["kind"] == "status"
    course.refresh_from_db()
    assert course.status == "screening"
    move = CourseTransition.objects.get(course=course)
    assert (move.from_status, move.to_status, move.by) == ("candidate", "screening", cast.carmen)


def test_an_illegal_transition_is_refused_and_changes_nothing(cast: Cast) -> None:
    course = _course(cast)
    response = _json(
        client_for(cast.carmen),
        "post",
        f"/api/v1/courses/{course.public_id}/transitions",
        {"status": "treatment"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "illegal_transition"
    assert response.json()["fields"] == {"status": ["cannot go from candidate to treatment"]}
    course.refresh_from_db()
    assert course.status == "candidate"
    assert not CourseTransition.objects.exists()


def test_a_transition_to_an_unknown_status_names_the_field(cast: Cast) -> None:
    course = _course(cast)
    response = _json(
        client_for(cast.carmen),
        "post",
        f"/api/v1/courses/{course.public_id}/transitions",
        {"status": "paused"},
    )
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["status"]
    assert EnrollmentCourse.objects.get(pk=course.pk).status == "candidate"


def test_eligibility_is_refused_to_a_coordinator(cast: Cast) -> None:
    course = _course(cast, to="screening")
    response = _json(
        client_for(cast.carmen),
        "post",
        f"/api/v1/courses/{course.public_id}/transitions",
        {"status": "eligible"},
    )
    assert response.status_code == 403
    assert EnrollmentCourse.objects.get(pk=course.pk).status == "screening"


def test_an_outsider_cannot_move_another_sites_course(cast: Cast) -> None:
    course = _course(cast)
    path = f"/api/v1/courses/{course.public_id}/transitions"
    _assert_not_found(_json(client_for(cast.oscar), "post", path, {"status": "screening"}))
    _assert_unauthenticated(_json(Client(), "post", path, {"status": "screening"}))
    assert EnrollmentCourse.objects.get(pk=course.pk).status == "candidate"


# Consent ----------------------------------------------------------------------------------------
def _consent_body(document: ConsentDocument, code: str, **overrides: Any) -> dict[str, Any]:
    return {
        "document_id": str(document.public_id),
        "patient_printed_name": "Jordan Example",
        "patient_signature_svg": SAMPLE_SIGNATURE,
        "password": PASSWORD,
        "otp_code": code,
    } | overrides


def test_consent_is_recorded_countersigned_and_the_course_is_consented(cast: Cast) -> None:
    course = _course(cast, to="eligible")
    document = make_active_consent_document(cast, course.protocol_version)
    response = _json(
        client_for(cast.carmen),
        "post",
        f"/api/v1/courses/{course.public_id}/consents",
        _consent_body(document, otp_code(cast.carmen)),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["course_id"], body["document_id"], body["withdrawn_at"]) == (
        str(course.public_id),
        str(document.public_id),
        None,
    )
    [signature] = body["signatures"]
    assert (signature["printed_name"], signature["meaning"], signature["status"]) == (
        "Carmen Liu",
        "witnessed",
        "valid",
    )
    record = ConsentRecord.objects.get(public_id=body["id"])
    assert (record.course, record.document, record.patient_printed_name) == (
        course,
        document,
        "Jordan Example",
    )
    assert EnrollmentCourse.objects.get(pk=course.pk).status == "consented"


def test_consent_with_a_wrong_password_is_refused_and_nothing_is_recorded(cast: Cast) -> None:
    course = _course(cast, to="eligible")
    document = make_active_consent_document(cast, course.protocol_version)
    response = _json(
        client_for(cast.carmen),
        "post",
        f"/api/v1/courses/{course.public_id}/consents",
        _consent_body(document, otp_code(cast.carmen), password="wrong"),
    )
    assert response.status_code == 403
    assert response.json()["code"] == "signature_refused"
    assert not ConsentRecord.objects.exists()
    assert EnrollmentCourse.objects.get(pk=course.pk).status == "eligible"


def test_consent_to_an_unknown_or_other_sites_document_names_the_field(cast: Cast) -> None:
    course = _course(cast, to="eligible")
    make_active_consent_document(cast, course.protocol_version)
    elsewhere = services.consent_document_upload(
        actor=actor_of(cast.oscar),
        site=cast.site_b,
        protocol_version=course.protocol_version,
        version_label="v1",
        title="Birch consent",
        content=SAMPLE_PDF,
        filename="birch.pdf",
    )
    client = client_for(cast.carmen)
    for document_id in (str(elsewhere.public_id), "00000000-0000-4000-8000-000000000000"):
        body = _consent_body(elsewhere, otp_code(cast.carmen), document_id=document_id)
        response = _json(client, "post", f"/api/v1/courses/{course.public_id}/consents", body)
        assert response.status_code == 422, document_id
        assert list(response.json()["fields"]) == ["document_id"]
    assert not ConsentRecord.objects.exists()


def test_consent_without_the_drawn_signature_names_the_field(cast: Cast) -> None:
    course = _course(cast, to="eligible")
    document = make_active_consent_document(cast, course.protocol_version)
    body = _consent_body(document, otp_code(cast.carmen))
    del body["patient_signature_svg"]
    response = _json(client_for(cast.carmen), "post", f"/api/v1/courses/{course.public_id}/consents", body)
    assert response.status_code == 422
    assert response.json()["fields"] == {"patient_signature_svg": ["Field required"]}
    assert not ConsentRecord.objects.exists()


def test_an_outsider_cannot_record_consent_on_another_sites_course(cast: Cast) -> None:
    course = _course(cast, to="eligible")
    document = make_active_consent_document(cast, course.protocol_version)
    path = f"/api/v1/courses/{course.public_id}/consents"
    _assert_not_found(
        _json(client_for(cast.oscar), "post", path, _consent_body(document, otp_code(cast.oscar)))
    )
    _assert_unauthenticated(_json(Client(), "post", path, _consent_body(document, "000000")))
    assert not ConsentRecord.objects.exists()


def test_enrollment_plans_the_visits_and_freezes_the_protocol(cast: Cast) -> None:
    course = _consented(cast)
    enrolled_on = _today() - timedelta(days=1)
    response = _json(
        client_for(cast.carmen),
        "post",
        f"/api/v1/courses/{course.public_id}/enroll",
        {"enrolled_on": enrolled_on.isoformat()},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["enrolled_on"]) == ("preparation", enrolled_on.isoformat())
    assert len(body["visits"]) == Visit.objects.filter(course=course).count() > 10
    course.refresh_from_db()
    assert (course.status, course.enrolled_on) == ("preparation", enrolled_on)
    assert ProtocolVersion.objects.get(pk=course.protocol_version_id).frozen


def test_enrollment_without_current_consent_is_refused(cast: Cast) -> None:
    course = _consented(cast)
    # A new consent version comes into use: the patient's consent to v1 no longer stands.
    make_active_consent_document(cast, course.protocol_version, label="v2")
    response = _json(
        client_for(cast.carmen),
        "post",
        f"/api/v1/courses/{course.public_id}/enroll",
        {"enrolled_on": _today().isoformat()},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "consent_required"
    course.refresh_from_db()
    assert (course.status, course.enrolled_on) == ("consented", None)
    assert not Visit.objects.exists()


def test_enrollment_in_the_future_or_without_a_date_names_the_field(cast: Cast) -> None:
    course = _consented(cast)
    client = client_for(cast.carmen)
    path = f"/api/v1/courses/{course.public_id}/enroll"
    future = _json(client, "post", path, {"enrolled_on": (_today() + timedelta(days=1)).isoformat()})
    assert future.status_code == 422
    assert future.json()["fields"] == {"enrolled_on": ["cannot be in the future"]}
    garbled = _json(client, "post", path, {"enrolled_on": "next tuesday"})
    assert garbled.status_code == 422
    assert list(garbled.json()["fields"]) == ["enrolled_on"]
    assert EnrollmentCourse.objects.get(pk=course.pk).status == "consented"
    assert not Visit.objects.exists()


def test_an_outsider_cannot_enroll_another_sites_patient(cast: Cast) -> None:
    course = _consented(cast)
    path = f"/api/v1/courses/{course.public_id}/enroll"
    _assert_not_found(_json(client_for(cast.oscar), "post", path, {"enrolled_on": _today().isoformat()}))
    _assert_unauthenticated(_json(Client(), "post", path, {"enrolled_on": _today().isoformat()}))
    assert EnrollmentCourse.objects.get(pk=course.pk).status == "consented"


def test_withdrawing_consent_ends_the_course(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today())
    record = ConsentRecord.objects.get(course=course)
    response = _json(
        client_for(cast.carmen),
        "post",
        f"/api/v1/consents/{record.public_id}/withdraw",
        {"reason": "Patient moved away"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["withdrawal_reason"] == "Patient moved away"
    assert response.json()["withdrawn_at"] is not None
    record.refresh_from_db()
    assert record.withdrawn_at is not None
    course.refresh_from_db()
    assert (course.status, course.off_study_reason) == ("withdrawn", "consent withdrawn: Patient moved away")


def test_withdrawing_consent_without_a_reason_changes_nothing(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today())
    record = ConsentRecord.objects.get(course=course)
    response = _json(client_for(cast.carmen), "post", f"/api/v1/consents/{record.public_id}/withdraw", {})
    assert response.status_code == 422
    assert response.json()["fields"] == {"reason": ["Field required"]}
    assert ConsentRecord.objects.get(pk=record.pk).withdrawn_at is None
    assert EnrollmentCourse.objects.get(pk=course.pk).status == "preparation"


def test_an_outsider_cannot_withdraw_another_sites_consent(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today())
    record = ConsentRecord.objects.get(course=course)
    path = f"/api/v1/consents/{record.public_id}/withdraw"
    _assert_not_found(_json(client_for(cast.oscar), "post", path, {"reason": "x"}))
    _assert_unauthenticated(_json(Client(), "post", path, {"reason": "x"}))
    assert ConsentRecord.objects.get(pk=record.pk).withdrawn_at is None


# Consent documents ------------------------------------------------------------------------------
def _upload(client: Client, cast: Cast, content: bytes = SAMPLE_PDF, **fields: Any) -> Any:
    data: dict[str, Any] = {
        "file": SimpleUploadedFile("consent v2.pdf", content, content_type="application/pdf"),
        "protocol_code": "mdma-ptsd",
        "protocol_version": "1.0",
        "version_label": "v2",
        "title": "Consent to MDMA-assisted therapy",
    } | fields
    return client.post(f"/api/v1/sites/{cast.site_a.public_id}/consent-documents", data)


def test_a_coordinator_uploads_a_consent_document(cast: Cast) -> None:
    load_shipped_protocol()
    response = _upload(client_for(cast.carmen), cast)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["protocol_code"], body["protocol_version"], body["version_label"]) == (
        "mdma-ptsd",
        "1.0",
        "v2",
    )
    assert body["activated_at"] is None
    document = ConsentDocument.objects.get(public_id=body["id"])
    assert document.site == cast.site_a
    assert body["sha256"] == document.sha256
    with document.file.open("rb") as stored:
        assert stored.read() == SAMPLE_PDF


def test_uploading_a_file_that_is_not_a_pdf_is_refused(cast: Cast) -> None:
    load_shipped_protocol()
    response = _upload(client_for(cast.carmen), cast, content=b"GIF89a not a consent form")
    assert response.status_code == 422
    assert response.json()["fields"] == {"file": ["must be a PDF document"]}
    assert not ConsentDocument.objects.exists()


def test_uploading_without_a_title_names_the_field(cast: Cast) -> None:
    load_shipped_protocol()
    response = _upload(client_for(cast.carmen), cast, title="")
    assert response.status_code == 422
    assert response.json()["fields"] == {"title": ["is required"]}
    assert not ConsentDocument.objects.exists()


def test_uploading_without_a_file_is_a_validation_error(cast: Cast) -> None:
    load_shipped_protocol()
    response = client_for(cast.carmen).post(
        f"/api/v1/sites/{cast.site_a.public_id}/consent-documents",
        {"protocol_code": "mdma-ptsd", "protocol_version": "1.0", "version_label": "v2", "title": "Consent"},
    )
    assert response.status_code == 422
    # The envelope reports ninja's file parameters as "file.<name>" until haven/api.py counts
    # "file" among the request locations; either way the last part names the field.
    assert [path.split(".")[-1] for path in response.json()["fields"]] == ["file"]
    assert not ConsentDocument.objects.exists()


def test_a_therapist_may_not_upload_a_consent_document(cast: Cast) -> None:
    load_shipped_protocol()
    response = _upload(client_for(cast.alice), cast)
    assert response.status_code == 403
    assert not ConsentDocument.objects.exists()


def test_an_outsider_cannot_upload_to_another_site(cast: Cast) -> None:
    load_shipped_protocol()
    _assert_not_found(_upload(client_for(cast.oscar), cast))
    _assert_unauthenticated(_upload(Client(), cast))
    assert not ConsentDocument.objects.exists()


def test_consent_documents_are_listed_for_the_site(cast: Cast) -> None:
    document = make_active_consent_document(cast, load_shipped_protocol())
    response = client_for(cast.alice).get(f"/api/v1/sites/{cast.site_a.public_id}/consent-documents")
    assert response.status_code == 200
    [listed] = response.json()
    assert (listed["id"], listed["version_label"], listed["title"]) == (
        str(document.public_id),
        "v1",
        "Consent to MDMA-assisted therapy",
    )
    assert listed["activated_at"] is not None
    path = f"/api/v1/sites/{cast.site_a.public_id}/consent-documents"
    _assert_not_found(client_for(cast.oscar).get(path))
    _assert_unauthenticated(Client().get(path))


def test_activating_a_document_puts_it_in_use_once(cast: Cast) -> None:
    version = load_shipped_protocol()
    document = services.consent_document_upload(
        actor=actor_of(cast.carmen),
        site=cast.site_a,
        protocol_version=version,
        version_label="v1",
        title="Consent",
        content=SAMPLE_PDF,
        filename="c.pdf",
    )
    client = client_for(cast.morgan)
    path = f"/api/v1/consent-documents/{document.public_id}/activate"
    response = client.post(path)
    assert response.status_code == 200, response.content
    document.refresh_from_db()
    assert document.activated_at is not None
    assert response.json()["activated_at"] is not None
    assert services.consent_current_document(site=cast.site_a, protocol_code="mdma-ptsd") == document
    again = client.post(path)
    assert again.status_code == 409
    assert ConsentDocument.objects.get(pk=document.pk).activated_at == document.activated_at


def test_activating_is_refused_to_a_therapist_and_hidden_from_outsiders(cast: Cast) -> None:
    version = load_shipped_protocol()
    document = services.consent_document_upload(
        actor=actor_of(cast.carmen),
        site=cast.site_a,
        protocol_version=version,
        version_label="v1",
        title="Consent",
        content=SAMPLE_PDF,
        filename="c.pdf",
    )
    path = f"/api/v1/consent-documents/{document.public_id}/activate"
    assert client_for(cast.alice).post(path).status_code == 403
    _assert_not_found(client_for(cast.oscar).post(path))
    _assert_unauthenticated(Client().post(path))
    assert ConsentDocument.objects.get(pk=document.pk).activated_at is None


def test_the_pdf_download_returns_the_uploaded_bytes(cast: Cast) -> None:
    load_shipped_protocol()
    uploaded = _upload(client_for(cast.carmen), cast).json()
    response = client_for(cast.alice).get(f"/api/v1/consent-documents/{uploaded['id']}/file")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == SAMPLE_PDF  # type: ignore[attr-defined]


def test_the_pdf_download_is_hidden_from_outsiders(cast: Cast) -> None:
    document = make_active_consent_document(cast, load_shipped_protocol())
    path = f"/api/v1/consent-documents/{document.public_id}/file"
    _assert_not_found(client_for(cast.oscar).get(path))
    _assert_unauthenticated(Client().get(path))


# Visits -----------------------------------------------------------------------------------------
def test_recording_a_visit_in_its_window(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=7))
    prep1 = _visit(course, "prep1")
    response = _json(
        client_for(cast.alice),
        "post",
        f"/api/v1/visits/{prep1.public_id}/occurrence",
        {"occurred_on": _today().isoformat()},
    )
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["occurred_on"]) == ("occurred", _today().isoformat())
    prep1.refresh_from_db()
    assert (prep1.status, prep1.occurred_on) == ("occurred", _today())
    assert not Deviation.objects.exists()


def test_a_visit_out_of_its_window_is_a_deviation_shown_on_the_course(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=20))
    baseline = _visit(course, "baseline")
    response = _json(
        client_for(cast.riley),
        "post",
        f"/api/v1/visits/{baseline.public_id}/occurrence",
        {"occurred_on": _today().isoformat()},
    )
    assert response.status_code == 200, response.content
    deviation = Deviation.objects.get()
    assert (deviation.visit, deviation.kind, deviation.days_outside_window) == (
        baseline,
        "visit_out_of_window",
        13,
    )
    shown = client_for(cast.alice).get(f"/api/v1/courses/{course.public_id}").json()["deviations"]
    assert [(d["visit_code"], d["kind"], d["days_outside_window"]) for d in shown] == [
        ("baseline", "visit_out_of_window", 13)
    ]


def test_a_visit_in_the_future_cannot_be_recorded(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=7))
    prep1 = _visit(course, "prep1")
    response = _json(
        client_for(cast.alice),
        "post",
        f"/api/v1/visits/{prep1.public_id}/occurrence",
        {"occurred_on": (_today() + timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"occurred_on": ["cannot be in the future"]}
    prep1.refresh_from_db()
    assert (prep1.status, prep1.occurred_on) == ("planned", None)


def test_a_sponsor_monitor_may_not_record_a_visit(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=7))
    prep1 = _visit(course, "prep1")
    response = _json(
        client_for(cast.sam),
        "post",
        f"/api/v1/visits/{prep1.public_id}/occurrence",
        {"occurred_on": _today().isoformat()},
    )
    assert response.status_code == 403
    assert Visit.objects.get(pk=prep1.pk).status == "planned"


def test_an_outsider_cannot_record_another_sites_visit(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=7))
    prep1 = _visit(course, "prep1")
    path = f"/api/v1/visits/{prep1.public_id}/occurrence"
    _assert_not_found(_json(client_for(cast.oscar), "post", path, {"occurred_on": _today().isoformat()}))
    _assert_unauthenticated(_json(Client(), "post", path, {"occurred_on": _today().isoformat()}))
    assert Visit.objects.get(pk=prep1.pk).status == "planned"


def test_a_missed_visit_is_recorded_as_a_deviation(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=7))
    prep1 = _visit(course, "prep1")
    response = _json(
        client_for(cast.carmen),
        "post",
        f"/api/v1/visits/{prep1.public_id}/missed",
        {"reason": "Patient unwell"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "missed"
    assert Visit.objects.get(pk=prep1.pk).status == "missed"
    deviation = Deviation.objects.get()
    assert (deviation.visit, deviation.kind) == (prep1, "visit_missed")
    assert "Patient unwell" in deviation.description


def test_a_missed_visit_needs_a_reason(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=7))
    prep1 = _visit(course, "prep1")
    response = _json(
        client_for(cast.carmen), "post", f"/api/v1/visits/{prep1.public_id}/missed", {"reason": ""}
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {
        "reason": ["A reason is required to change or delete a saved record."]
    }
    assert Visit.objects.get(pk=prep1.pk).status == "planned"
    assert not Deviation.objects.exists()


def test_an_outsider_cannot_mark_another_sites_visit_missed(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today() - timedelta(days=7))
    prep1 = _visit(course, "prep1")
    path = f"/api/v1/visits/{prep1.public_id}/missed"
    _assert_not_found(_json(client_for(cast.oscar), "post", path, {"reason": "x"}))
    _assert_unauthenticated(_json(Client(), "post", path, {"reason": "x"}))
    assert Visit.objects.get(pk=prep1.pk).status == "planned"


# Visit notes ------------------------------------------------------------------------------------
def _note_body(cast: Cast, **overrides: Any) -> dict[str, Any]:
    return {
        "sections": {"Intentions": "Safety and trust", "Safety plan": "Reviewed"},
        "free_text": "Went well.",
        "attendee_ids": [str(cast.alice.public_id), str(cast.ben.public_id)],
        "duration_minutes": 95,
    } | overrides


def test_a_therapist_saves_a_draft_note(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    response = _json(
        client_for(cast.alice), "put", f"/api/v1/visits/{prep1.public_id}/note", _note_body(cast)
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["sections"]["Intentions"] == "Safety and trust"
    assert set(body["sections"]) == set(PREPARATION_HEADINGS)
    assert sorted(a["printed_name"] for a in body["attendees"]) == ["Ben Okafor", "Dr Alice Adams"]
    assert (body["author"], body["locked_at"], body["signatures"], body["addenda"]) == (
        "Dr Alice Adams",
        None,
        [],
        [],
    )
    note = VisitNote.objects.get(visit=prep1)
    assert (note.free_text, note.duration_minutes, note.author) == ("Went well.", 95, cast.alice)
    assert set(note.attendees.all()) == {cast.alice, cast.ben}


def test_a_note_naming_an_unknown_or_outside_attendee_is_refused(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    client = client_for(cast.alice)
    for stranger in ("00000000-0000-4000-8000-000000000000", str(cast.oscar.public_id)):
        body = _note_body(cast, attendee_ids=[str(cast.alice.public_id), stranger])
        response = _json(client, "put", f"/api/v1/visits/{prep1.public_id}/note", body)
        assert response.status_code == 422, stranger
        assert list(response.json()["fields"]) == ["attendee_ids"]
    assert not VisitNote.objects.exists()


def test_a_note_with_a_heading_the_protocol_lacks_is_refused(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    response = _json(
        client_for(cast.alice),
        "put",
        f"/api/v1/visits/{prep1.public_id}/note",
        _note_body(cast, sections={"Horoscope": "Mercury retrograde"}),
    )
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["sections"]
    assert not VisitNote.objects.exists()


def test_a_note_without_a_duration_names_the_field(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    body = _note_body(cast)
    del body["duration_minutes"]
    response = _json(client_for(cast.alice), "put", f"/api/v1/visits/{prep1.public_id}/note", body)
    assert response.status_code == 422
    assert response.json()["fields"] == {"duration_minutes": ["Field required"]}
    assert not VisitNote.objects.exists()


def test_an_outsider_cannot_write_another_sites_note(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    path = f"/api/v1/visits/{prep1.public_id}/note"
    _assert_not_found(_json(client_for(cast.oscar), "put", path, _note_body(cast)))
    _assert_unauthenticated(_json(Client(), "put", path, _note_body(cast)))
    assert not VisitNote.objects.exists()


def test_the_note_is_shown_to_clinical_staff(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    note = _draft_note(cast, prep1)
    response = client_for(cast.priya).get(f"/api/v1/visits/{prep1.public_id}/note")
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["free_text"]) == (str(note.public_id), "Went well.")


def test_a_blinded_rater_may_not_read_a_therapy_note(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    _draft_note(cast, prep1)
    response = client_for(cast.riley).get(f"/api/v1/visits/{prep1.public_id}/note")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "Went well" not in response.content.decode()


def test_a_visit_without_a_note_answers_404_in_the_envelope(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    response = client_for(cast.alice).get(f"/api/v1/visits/{prep1.public_id}/note")
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "No note has been written for this visit yet.",
        "fields": {},
    }


def test_the_note_is_hidden_from_outsiders(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    _draft_note(cast, prep1)
    path = f"/api/v1/visits/{prep1.public_id}/note"
    _assert_not_found(client_for(cast.oscar).get(path))
    _assert_unauthenticated(Client().get(path))


def test_signing_a_note_locks_it_and_completes_the_visit(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    _draft_note(cast, prep1)
    response = _json(
        client_for(cast.alice),
        "post",
        f"/api/v1/visits/{prep1.public_id}/note/sign",
        {"password": PASSWORD, "otp_code": otp_code(cast.alice)},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["locked_at"] is not None
    [signature] = body["signatures"]
    assert (signature["printed_name"], signature["meaning"], signature["status"]) == (
        "Dr Alice Adams",
        "authored",
        "valid",
    )
    note = VisitNote.objects.get(visit=prep1)
    assert note.locked_at is not None
    assert Signature.objects.get(record_type="patients.visitnote").record_id == str(note.public_id)
    prep1.refresh_from_db()
    assert (prep1.status, prep1.duration_minutes) == ("completed", 90)


def test_signing_a_note_with_a_wrong_password_is_refused_and_leaves_it_unlocked(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    _draft_note(cast, prep1)
    response = _json(
        client_for(cast.alice),
        "post",
        f"/api/v1/visits/{prep1.public_id}/note/sign",
        {"password": "not my password", "otp_code": otp_code(cast.alice)},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "signature_refused"
    assert response.json()["fields"] == {"password": ["password is incorrect"]}
    assert VisitNote.objects.get(visit=prep1).locked_at is None
    assert not Signature.objects.filter(record_type="patients.visitnote").exists()
    assert Visit.objects.get(pk=prep1.pk).status == "occurred"


def test_signing_without_a_note_or_a_password_is_refused(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    client = client_for(cast.alice)
    path = f"/api/v1/visits/{prep1.public_id}/note/sign"
    _assert_not_found(_json(client, "post", path, {"password": PASSWORD, "otp_code": otp_code(cast.alice)}))
    _draft_note(cast, prep1)
    response = _json(client, "post", path, {"otp_code": otp_code(cast.alice)})
    assert response.status_code == 422
    assert response.json()["fields"] == {"password": ["Field required"]}
    assert VisitNote.objects.get(visit=prep1).locked_at is None


def test_an_outsider_cannot_sign_another_sites_note(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    _draft_note(cast, prep1)
    path = f"/api/v1/visits/{prep1.public_id}/note/sign"
    _assert_not_found(_json(client_for(cast.oscar), "post", path, {"password": PASSWORD}))
    _assert_unauthenticated(_json(Client(), "post", path, {"password": PASSWORD}))
    assert VisitNote.objects.get(visit=prep1).locked_at is None


def test_an_addendum_is_added_to_a_signed_note_and_signed(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    note = _signed_note(cast, prep1)
    response = _json(
        client_for(cast.alice),
        "post",
        f"/api/v1/visits/{prep1.public_id}/note/addenda",
        {"text": "Patient called later: felt calm.", "password": PASSWORD, "otp_code": otp_code(cast.alice)},
    )
    assert response.status_code == 201, response.content
    [addendum] = response.json()["addenda"]
    assert (addendum["text"], addendum["author"]) == ("Patient called later: felt calm.", "Dr Alice Adams")
    assert [s["meaning"] for s in addendum["signatures"]] == ["authored"]
    # The note's own signature still stands: an addendum does not change the signed content.
    assert [s["status"] for s in response.json()["signatures"]] == ["valid"]
    stored = VisitNoteAddendum.objects.get(note=note)
    assert (stored.text, stored.author) == ("Patient called later: felt calm.", cast.alice)
    assert Signature.objects.filter(record_id=str(stored.public_id)).exists()


def test_an_addendum_to_a_draft_note_is_refused(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    _draft_note(cast, prep1)
    response = _json(
        client_for(cast.alice),
        "post",
        f"/api/v1/visits/{prep1.public_id}/note/addenda",
        {"text": "More", "password": PASSWORD, "otp_code": otp_code(cast.alice)},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "note_not_locked"
    assert not VisitNoteAddendum.objects.exists()


def test_an_empty_addendum_names_the_field(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    _signed_note(cast, prep1)
    response = _json(
        client_for(cast.alice),
        "post",
        f"/api/v1/visits/{prep1.public_id}/note/addenda",
        {"text": "  ", "password": PASSWORD, "otp_code": otp_code(cast.alice)},
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"text": ["is required"]}
    assert not VisitNoteAddendum.objects.exists()


def test_an_outsider_cannot_add_to_another_sites_note(cast: Cast) -> None:
    prep1 = _occurred_prep1(cast)
    _signed_note(cast, prep1)
    path = f"/api/v1/visits/{prep1.public_id}/note/addenda"
    body = {"text": "x", "password": PASSWORD}
    _assert_not_found(_json(client_for(cast.oscar), "post", path, body))
    _assert_unauthenticated(_json(Client(), "post", path, body))
    assert not VisitNoteAddendum.objects.exists()


def test_a_blinded_rater_documents_and_signs_an_assessment_visit(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=_today())
    baseline = services.visit_record_occurrence(
        actor=actor_of(cast.riley), visit=_visit(course, "baseline"), occurred_on=_today()
    )
    client = client_for(cast.riley)
    saved = _json(
        client,
        "put",
        f"/api/v1/visits/{baseline.public_id}/note",
        {"free_text": "CAPS-5 done.", "attendee_ids": [str(cast.riley.public_id)], "duration_minutes": 110},
    )
    assert saved.status_code == 200, saved.content
    signed = _json(
        client,
        "post",
        f"/api/v1/visits/{baseline.public_id}/note/sign",
        {"password": PASSWORD, "otp_code": otp_code(cast.riley)},
    )
    assert signed.status_code == 200, signed.content
    assert [s["printed_name"] for s in signed.json()["signatures"]] == ["Riley Brennan"]
    assert VisitNote.objects.get(visit=baseline).locked_at is not None
    assert Visit.objects.get(pk=baseline.pk).status == "completed"
