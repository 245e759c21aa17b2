"""The enrollment course: its state machine, consent gating, the schedule, deviations, notes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import product

import pytest
import time_machine
import yaml

from haven.accounts.models import Role
from haven.audit.errors import SignatureRefused
from haven.audit.models import AuditEntry, Signature
from haven.audit.signatures import signatures_for
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed
from haven.core.testing import (
    PASSWORD,
    SAMPLE_SIGNATURE,
    Cast,
    actor_of,
    grant,
    load_shipped_protocol,
    make_active_consent_document,
    make_eligible_screening,
    make_enrolled_course,
    make_patient,
    otp_code,
)
from haven.patients.models import (
    CourseStatus,
    CourseTransition,
    Deviation,
    EnrollmentCourse,
    Visit,
    VisitStatus,
)
from haven.patients.services import (
    TRANSITIONS,
    consent_current,
    consent_record,
    consent_withdraw,
    course_enroll,
    course_open,
    course_transition,
    visit_mark_missed,
    visit_note_addendum,
    visit_note_save,
    visit_note_sign,
    visit_record_occurrence,
)
from haven.protocols.loader import SHIPPED_DIR
from haven.protocols.models import ProtocolVersion
from haven.protocols.services import protocol_load

pytestmark = pytest.mark.django_db
ENROLLED = date(2026, 1, 5)
TODAY = date(2026, 11, 25)


@pytest.fixture(autouse=True)
def _fixed_today() -> Iterator[None]:
    """Dates in these tests are written out; "today" is fixed so "not in the future" stays true."""
    with time_machine.travel(datetime(2026, 11, 25, 15, 0, tzinfo=UTC), tick=True):
        yield


def _course(cast: Cast) -> EnrollmentCourse:
    return course_open(
        actor=actor_of(cast.carmen), patient=make_patient(cast), protocol_version=load_shipped_protocol()
    )


def _consent(cast: Cast, course: EnrollmentCourse, document: object) -> None:
    consent_record(
        actor=actor_of(cast.carmen),
        course=course,
        document=document,  # type: ignore[arg-type]
        patient_printed_name="Jordan Example",
        patient_signature_svg=SAMPLE_SIGNATURE,
        password=PASSWORD,
        otp_code=otp_code(cast.carmen),
    )


# The state machine ------------------------------------------------------------------------------
ALL = list(CourseStatus)
ILLEGAL = [(a, b) for a, b in product(ALL, ALL) if b not in TRANSITIONS[a]]


@pytest.mark.parametrize(("start", "to"), ILLEGAL, ids=lambda s: s.value)
def test_every_illegal_transition_is_refused_and_changes_nothing(
    cast: Cast, start: CourseStatus, to: CourseStatus
) -> None:
    grant(cast.priya, cast.site_a, Role.COORDINATOR)
    course = _course(cast)
    EnrollmentCourse.objects.filter(pk=course.pk).update(status=start)
    with pytest.raises(ValidationFailed) as refused:
        course_transition(actor=actor_of(cast.priya), course=course, to=to, reason="testing")
    assert refused.value.code == "illegal_transition"
    assert EnrollmentCourse.objects.get(pk=course.pk).status == start
    assert not CourseTransition.objects.exists()


@pytest.mark.parametrize(
    ("start", "to"),
    [(CourseStatus.ELIGIBLE, CourseStatus.CONSENTED), (CourseStatus.CONSENTED, CourseStatus.PREPARATION)],
)
def test_consent_and_enrollment_cannot_be_skipped_by_a_plain_transition(
    cast: Cast, start: CourseStatus, to: CourseStatus
) -> None:
    course = _course(cast)
    EnrollmentCourse.objects.filter(pk=course.pk).update(status=start)
    with pytest.raises(ValidationFailed, match="to reach"):
        course_transition(actor=actor_of(cast.carmen), course=course, to=to)
    assert EnrollmentCourse.objects.get(pk=course.pk).status == start


def test_legal_transitions_are_recorded_on_the_timeline_and_audited(cast: Cast) -> None:
    course = _course(cast)
    course_transition(actor=actor_of(cast.carmen), course=course, to="screening")
    course_transition(
        actor=actor_of(cast.priya), course=course, to="ineligible", reason="CAPS-5 total 24 (< 28)"
    )
    moves = list(CourseTransition.objects.values_list("from_status", "to_status", "reason"))
    assert moves == [("candidate", "screening", ""), ("screening", "ineligible", "CAPS-5 total 24 (< 28)")]
    updates = AuditEntry.objects.filter(action="update", record_type="patients.enrollmentcourse")
    assert [u.changes["status"]["new"] for u in updates] == ["screening", "ineligible"]


def test_eligibility_is_decided_by_a_physician(cast: Cast) -> None:
    course = _course(cast)
    course_transition(actor=actor_of(cast.carmen), course=course, to="screening")
    with pytest.raises(PermissionDenied, match="Physician"):
        course_transition(actor=actor_of(cast.carmen), course=course, to="eligible")


def test_ending_a_course_needs_a_reason(cast: Cast) -> None:
    course = _course(cast)
    with pytest.raises(ValidationFailed, match="reason"):
        course_transition(actor=actor_of(cast.carmen), course=course, to="withdrawn")
    course_transition(actor=actor_of(cast.carmen), course=course, to="withdrawn", reason="moved abroad")
    assert EnrollmentCourse.objects.get(pk=course.pk).off_study_reason == "moved abroad"


def test_one_open_course_per_protocol(cast: Cast) -> None:
    course = _course(cast)
    with pytest.raises(Conflict, match="already has an open course"):
        course_open(
            actor=actor_of(cast.carmen), patient=course.patient, protocol_version=load_shipped_protocol()
        )


# Consent and enrollment -------------------------------------------------------------------------
def _eligible(cast: Cast) -> EnrollmentCourse:
    course = _course(cast)
    course_transition(actor=actor_of(cast.carmen), course=course, to="screening")
    make_eligible_screening(cast, course)
    return course_transition(actor=actor_of(cast.priya), course=course, to="eligible")


def test_enrollment_is_impossible_without_consent(cast: Cast) -> None:
    course = _eligible(cast)
    EnrollmentCourse.objects.filter(pk=course.pk).update(status=CourseStatus.CONSENTED)
    with pytest.raises(ValidationFailed) as refused:
        course_enroll(actor=actor_of(cast.carmen), course=course, enrolled_on=ENROLLED)
    assert refused.value.code == "consent_required"
    assert not Visit.objects.exists()
    assert ProtocolVersion.objects.get().frozen_at is None


def test_consent_is_countersigned_and_moves_the_course(cast: Cast) -> None:
    course = _eligible(cast)
    document = make_active_consent_document(cast, course.protocol_version)
    _consent(cast, course, document)
    course.refresh_from_db()
    assert course.status == CourseStatus.CONSENTED
    record = consent_current(course)
    assert record is not None
    [view] = signatures_for(record)
    assert (view.signature.printed_name, view.signature.meaning, view.valid) == (
        "Carmen Liu",
        "witnessed",
        True,
    )


def test_a_refused_countersignature_records_no_consent(cast: Cast) -> None:
    course = _eligible(cast)
    document = make_active_consent_document(cast, course.protocol_version)
    with pytest.raises(SignatureRefused):
        consent_record(
            actor=actor_of(cast.carmen),
            course=course,
            document=document,
            patient_printed_name="Jordan Example",
            patient_signature_svg=SAMPLE_SIGNATURE,
            password="wrong",
            otp_code=otp_code(cast.carmen),
        )
    assert consent_current(course) is None
    assert EnrollmentCourse.objects.get(pk=course.pk).status == CourseStatus.ELIGIBLE


def test_a_consent_without_a_drawn_signature_is_refused(cast: Cast) -> None:
    course = _eligible(cast)
    document = make_active_consent_document(cast, course.protocol_version)
    with pytest.raises(ValidationFailed) as refused:
        consent_record(
            actor=actor_of(cast.carmen),
            course=course,
            document=document,
            patient_printed_name="Jordan Example",
            patient_signature_svg="<script>alert(1)</script>",
            password=PASSWORD,
            otp_code=otp_code(cast.carmen),
        )
    assert list(refused.value.fields) == ["patient_signature_svg"]


def test_enrollment_freezes_the_protocol_and_plans_the_schedule(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    assert course.status == CourseStatus.PREPARATION
    assert ProtocolVersion.objects.get(pk=course.protocol_version_id).frozen_at is not None
    visits = {v.code: v for v in Visit.objects.filter(course=course)}
    assert len(visits) == 40
    prep1 = visits["prep1"]
    assert (prep1.target_date, prep1.window_earliest, prep1.window_latest) == (
        date(2026, 1, 12),
        date(2026, 1, 9),
        date(2026, 1, 19),
    )
    assert visits["primary"].target_date == date(2026, 5, 25)


def test_a_new_consent_version_requires_re_consent(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    old_document = consent_current(course).document  # type: ignore[union-attr]
    make_active_consent_document(cast, course.protocol_version, label="v2")
    assert consent_current(course) is None
    # Nobody consents on the old version any more.
    newcomer = _eligible(cast)
    with pytest.raises(ValidationFailed) as refused:
        _consent(cast, newcomer, old_document)
    assert refused.value.fields == {
        "document": ["is not the consent document in use for this protocol at this site"]
    }


def test_re_consent_to_an_amended_protocol_moves_the_course_and_replans(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    data = yaml.safe_load((SHIPPED_DIR / "mdma-ptsd.yaml").read_text())
    data["version"] = "1.1"
    for visit in data["visits"]:
        if visit["code"] == "primary":
            visit["target"]["days"] = 63  # endpoint one week later
    data["visits"].append(
        {
            "code": "fu24",
            "name": "Follow-up at 24 months",
            "kind": "follow-up",
            "phase": "follow-up",
            "target": {"anchor": "dose3", "days": 730},
            "window": {"before": 30, "after": 30},
            "duration_minutes": 120,
        }
    )
    amended = protocol_load(
        actor=actor_of(cast.morgan), text=yaml.safe_dump(data, allow_unicode=True), source="v1.1.yaml"
    ).version
    document = make_active_consent_document(cast, amended, label="v2 (protocol 1.1)")
    _consent(cast, course, document)
    course.refresh_from_db()
    assert course.protocol_version == amended
    assert ProtocolVersion.objects.get(pk=amended.pk).frozen_at is not None
    visits = {v.code: v for v in Visit.objects.filter(course=course)}
    assert visits["primary"].target_date == date(2026, 6, 1)
    assert visits["fu24"].target_date == date(2028, 3, 29)
    moved = AuditEntry.objects.get(action="update", changes__has_key="protocol_version")
    assert moved.reason.startswith("re-consent to ")


def test_withdrawing_consent_ends_the_course(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    record = consent_current(course)
    assert record is not None
    consent_withdraw(actor=actor_of(cast.carmen), record=record, reason="patient's decision")
    course.refresh_from_db()
    assert course.status == CourseStatus.WITHDRAWN
    assert course.off_study_reason == "consent withdrawn: patient's decision"
    assert signatures_for(record)[0].valid  # the witness signature still stands


# Visits, re-planning, deviations ----------------------------------------------------------------
def test_a_late_visit_is_a_deviation_and_replans_what_depends_on_it(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    dose1 = Visit.objects.get(course=course, code="dose1")
    visit_record_occurrence(actor=actor_of(cast.alice), visit=dose1, occurred_on=date(2026, 2, 20))
    deviation = Deviation.objects.get()
    assert deviation.days_outside_window == 4
    assert "4 day(s) after its window (2026-01-30 to 2026-02-16)" in deviation.description
    visits = {v.code: v for v in Visit.objects.filter(course=course)}
    assert visits["int1a"].target_date == date(2026, 2, 21)
    assert visits["dose2"].target_date == date(2026, 3, 20)
    assert visits["prep3"].target_date == date(2026, 1, 26)  # not anchored to dose1
    replanned = AuditEntry.objects.filter(
        action="update", record_type="patients.visit", reason__startswith="re-planned"
    )
    assert replanned.count() > 10


def test_a_visit_inside_its_window_is_no_deviation(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    visit_record_occurrence(
        actor=actor_of(cast.alice),
        visit=Visit.objects.get(course=course, code="prep1"),
        occurred_on=date(2026, 1, 13),
    )
    assert not Deviation.objects.exists()


def test_a_visit_cannot_be_recorded_in_the_future_or_twice(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    prep1 = Visit.objects.get(course=course, code="prep1")
    with pytest.raises(ValidationFailed, match="future"):
        visit_record_occurrence(
            actor=actor_of(cast.alice), visit=prep1, occurred_on=TODAY + timedelta(days=1)
        )
    visit_record_occurrence(actor=actor_of(cast.alice), visit=prep1, occurred_on=date(2026, 1, 12))
    with pytest.raises(Conflict):
        visit_record_occurrence(actor=actor_of(cast.alice), visit=prep1, occurred_on=date(2026, 1, 12))


def test_a_missed_visit_is_a_deviation(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    call = Visit.objects.get(course=course, code="call1-3")
    visit_mark_missed(actor=actor_of(cast.alice), visit=call, reason="no answer, three attempts")
    assert Visit.objects.get(pk=call.pk).status == VisitStatus.MISSED
    assert Deviation.objects.get().kind == "visit_missed"


# Notes: sign and lock, addenda --------------------------------------------------------------------
def _prep1_with_note(cast: Cast, attendees: list[object]) -> Visit:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    prep1 = Visit.objects.get(course=course, code="prep1")
    visit_record_occurrence(actor=actor_of(cast.alice), visit=prep1, occurred_on=date(2026, 1, 12))
    visit_note_save(
        actor=actor_of(cast.alice),
        visit=prep1,
        sections={
            "Education given": "Session structure explained",
            "Touch consent discussed": "Consented to hand-holding only",
        },
        free_text="Engaged, asked good questions.",
        attendees=attendees,  # type: ignore[arg-type]
        duration_minutes=95,
    )
    return prep1


def test_signing_a_note_locks_it_and_completes_the_visit(cast: Cast) -> None:
    prep1 = _prep1_with_note(cast, [cast.alice, cast.ben])
    note = prep1.note
    visit_note_sign(actor=actor_of(cast.alice), note=note, password=PASSWORD, otp_code=otp_code(cast.alice))
    note.refresh_from_db()
    assert note.locked_at is not None
    assert Visit.objects.get(pk=prep1.pk).status == VisitStatus.COMPLETED
    assert Visit.objects.get(pk=prep1.pk).duration_minutes == 95
    assert Signature.objects.get(record_type="patients.visitnote").meaning == "authored"
    with pytest.raises(Conflict, match="locked"):
        visit_note_save(
            actor=actor_of(cast.alice),
            visit=prep1,
            sections={},
            free_text="changed",
            attendees=[cast.alice],
            duration_minutes=95,
        )


def test_a_note_needs_both_therapists_present_to_be_signed(cast: Cast) -> None:
    prep1 = _prep1_with_note(cast, [cast.alice])
    with pytest.raises(ValidationFailed) as refused:
        visit_note_sign(
            actor=actor_of(cast.alice), note=prep1.note, password=PASSWORD, otp_code=otp_code(cast.alice)
        )
    assert refused.value.fields == {
        "attendees": ["this visit needs 2 therapist(s) present; the note lists 1"]
    }
    assert prep1.note.locked_at is None


def test_a_note_cannot_be_signed_before_the_visit_took_place(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    prep2 = Visit.objects.get(course=course, code="prep2")
    note = visit_note_save(
        actor=actor_of(cast.alice),
        visit=prep2,
        sections={},
        free_text="x",
        attendees=[cast.alice, cast.ben],
        duration_minutes=90,
    )
    with pytest.raises(ValidationFailed, match="record the day the visit took place"):
        visit_note_sign(
            actor=actor_of(cast.alice), note=note, password=PASSWORD, otp_code=otp_code(cast.alice)
        )


def test_headings_outside_the_protocols_template_are_refused(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    prep1 = Visit.objects.get(course=course, code="prep1")
    with pytest.raises(ValidationFailed, match="'Dose given' is not a heading"):
        visit_note_save(
            actor=actor_of(cast.alice),
            visit=prep1,
            sections={"Dose given": "x"},
            free_text="",
            attendees=[],
            duration_minutes=90,
        )


def test_after_locking_a_note_changes_only_by_signed_addenda(cast: Cast) -> None:
    prep1 = _prep1_with_note(cast, [cast.alice, cast.ben])
    note = prep1.note
    with pytest.raises(ValidationFailed, match="addendum is for a signed note"):
        visit_note_addendum(
            actor=actor_of(cast.alice),
            note=note,
            text="late",
            password=PASSWORD,
            otp_code=otp_code(cast.alice),
        )
    visit_note_sign(actor=actor_of(cast.alice), note=note, password=PASSWORD, otp_code=otp_code(cast.alice))
    note.refresh_from_db()
    addendum = visit_note_addendum(
        actor=actor_of(cast.ben),
        note=note,
        text="Patient called to add a detail.",
        password=PASSWORD,
        otp_code=otp_code(cast.ben),
    )
    assert addendum.author == cast.ben
    signed = Signature.objects.exclude(record_type="patients.consentrecord").order_by("signed_at")
    assert [(s.record_type, s.meaning) for s in signed] == [
        ("patients.visitnote", "authored"),
        ("patients.visitnoteaddendum", "authored"),
    ]
    assert signatures_for(note)[0].valid  # the addendum does not touch the signed note


def test_a_blinded_rater_documents_assessments_only(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    prep1 = Visit.objects.get(course=course, code="prep1")
    with pytest.raises(PermissionDenied, match="assessment and follow-up visits only"):
        visit_note_save(
            actor=actor_of(cast.riley),
            visit=prep1,
            sections={},
            free_text="x",
            attendees=[],
            duration_minutes=60,
        )


def test_only_the_author_signs_a_note(cast: Cast) -> None:
    prep1 = _prep1_with_note(cast, [cast.alice, cast.ben])
    with pytest.raises(PermissionDenied, match="Only the note's author"):
        visit_note_sign(
            actor=actor_of(cast.ben), note=prep1.note, password=PASSWORD, otp_code=otp_code(cast.ben)
        )
    assert prep1.note.locked_at is None
