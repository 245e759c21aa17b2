"""The enrollment course and its state machine (after FHIR ResearchSubject)."""

from __future__ import annotations

from django.db import transaction

from haven.audit.context import Actor
from haven.audit.services import audit_create, audit_update, require_reason
from haven.core.errors import Conflict, ValidationFailed, field_error
from haven.core.time import now
from haven.patients.models import (
    CourseStatus,
    CourseTransition,
    EnrollmentCourse,
    Patient,
    Visit,
    VisitStatus,
)
from haven.patients.roles import (
    COURSE_ROLES,
    ELIGIBILITY_ROLES,
)
from haven.patients.services.common import (
    _require_role,
)
from haven.protocols.models import ProtocolVersion
from haven.screening.selectors import eligibility_gate

# Enrollment course ------------------------------------------------------------------------------
ON_STUDY = (CourseStatus.PREPARATION, CourseStatus.TREATMENT, CourseStatus.INTEGRATION)
OFF_STUDY = (CourseStatus.COMPLETED, CourseStatus.WITHDRAWN, CourseStatus.LOST)

# Every legal move. Enrollment (consented → preparation) has its own service, because it needs
# current consent and plans the schedule.
TRANSITIONS: dict[CourseStatus, frozenset[CourseStatus]] = {
    CourseStatus.CANDIDATE: frozenset({CourseStatus.SCREENING, CourseStatus.WITHDRAWN}),
    CourseStatus.SCREENING: frozenset(
        {CourseStatus.ELIGIBLE, CourseStatus.INELIGIBLE, CourseStatus.WITHDRAWN}
    ),
    CourseStatus.ELIGIBLE: frozenset({CourseStatus.CONSENTED, CourseStatus.WITHDRAWN}),
    CourseStatus.INELIGIBLE: frozenset(),
    CourseStatus.CONSENTED: frozenset({CourseStatus.PREPARATION, CourseStatus.WITHDRAWN}),
    CourseStatus.PREPARATION: frozenset({CourseStatus.TREATMENT, CourseStatus.WITHDRAWN, CourseStatus.LOST}),
    CourseStatus.TREATMENT: frozenset(
        {CourseStatus.INTEGRATION, CourseStatus.FOLLOW_UP, CourseStatus.WITHDRAWN, CourseStatus.LOST}
    ),
    CourseStatus.INTEGRATION: frozenset(
        {CourseStatus.TREATMENT, CourseStatus.FOLLOW_UP, CourseStatus.WITHDRAWN, CourseStatus.LOST}
    ),
    CourseStatus.FOLLOW_UP: frozenset({CourseStatus.COMPLETED, CourseStatus.WITHDRAWN, CourseStatus.LOST}),
    CourseStatus.COMPLETED: frozenset(),
    CourseStatus.WITHDRAWN: frozenset(),
    CourseStatus.LOST: frozenset(),
}
# Moves that only a dedicated service makes.
_BY_SERVICE = {
    (CourseStatus.CONSENTED, CourseStatus.PREPARATION): "enroll the patient (course_enroll)",
    (CourseStatus.ELIGIBLE, CourseStatus.CONSENTED): "record the patient's consent",
}
_NEEDS_REASON = {CourseStatus.INELIGIBLE, *OFF_STUDY}


def course_open(*, actor: Actor, patient: Patient, protocol_version: ProtocolVersion) -> EnrollmentCourse:
    _require_role(actor, patient.site, COURSE_ROLES, "Opening a course")
    if (
        EnrollmentCourse.objects.filter(patient=patient, protocol_code=protocol_version.code)
        .exclude(status__in=[*OFF_STUDY, CourseStatus.INELIGIBLE])
        .exists()
    ):
        raise Conflict(
            f"{patient} already has an open course on {protocol_version.code}.",
            fields={"protocol": ["an open course exists"]},
        )
    with transaction.atomic():
        course = EnrollmentCourse.objects.create(
            site=patient.site,
            patient=patient,
            protocol_code=protocol_version.code,
            protocol_version=protocol_version,
        )
        audit_create(
            actor=actor,
            instance=course,
            fields=("patient", "protocol_code", "protocol_version", "status"),
            site_id=patient.site.public_id,
        )
    return course


def _move(actor: Actor, course: EnrollmentCourse, to: CourseStatus, reason: str) -> EnrollmentCourse:
    """Record a legal move (the caller has checked it) with its transition row and audit entry."""
    previous = CourseStatus(course.status)
    course.status = to
    if to in OFF_STUDY:
        course.off_study_reason = reason
    course.save(update_fields=["status", "off_study_reason", "updated_at"])
    CourseTransition.objects.create(
        course=course, from_status=previous, to_status=to, occurred_at=now(), by=actor.user, reason=reason
    )
    audit_update(
        actor=actor,
        instance=course,
        changes={"status": {"old": previous.value, "new": to.value}},
        site_id=course.site.public_id,
        reason=reason or f"course moved to {to.label}",
    )
    if to in OFF_STUDY:
        _close_schedule(actor, course, to)
    return course


def _close_schedule(actor: Actor, course: EnrollmentCourse, to: CourseStatus) -> None:
    """Off study, nothing more is due: the visits still planned are cancelled and their booked
    appointments freed, each change audited with the course's move as its reason. Visits that took
    place or were missed keep their record."""
    from haven.scheduling.models import Appointment, AppointmentStatus

    why = f"course {to.label.lower()}"
    for visit in Visit.objects.select_for_update().filter(course=course, status=VisitStatus.PLANNED):
        visit.status = VisitStatus.CANCELLED
        visit.save(update_fields=["status", "updated_at"])
        audit_update(
            actor=actor,
            instance=visit,
            changes={"status": {"old": VisitStatus.PLANNED.value, "new": VisitStatus.CANCELLED.value}},
            site_id=course.site.public_id,
            reason=why,
        )
        for appointment in Appointment.objects.select_for_update().filter(
            visit=visit, status=AppointmentStatus.BOOKED
        ):
            appointment.status, appointment.cancel_reason = AppointmentStatus.CANCELLED, why
            appointment.save(update_fields=["status", "cancel_reason", "updated_at"])
            audit_update(
                actor=actor,
                instance=appointment,
                changes={"status": {"old": "booked", "new": "cancelled"}},
                site_id=course.site.public_id,
                reason=why,
            )


def _check_move(course: EnrollmentCourse, to: CourseStatus) -> None:
    current = CourseStatus(course.status)
    if to not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.label for s in TRANSITIONS[current])) or "none (the course has ended)"
        raise ValidationFailed(
            f"status: a course cannot go from {current.label} to {to.label}; allowed next: {allowed}",
            fields={"status": [f"cannot go from {current.value} to {to.value}"]},
            code="illegal_transition",
        )


def course_transition(
    *, actor: Actor, course: EnrollmentCourse, to: CourseStatus | str, reason: str = ""
) -> EnrollmentCourse:
    """Move a course along its state machine; illegal moves are refused and change nothing."""
    if to not in CourseStatus.values:
        raise field_error("status", f"must be one of {', '.join(CourseStatus.values)}")
    to = CourseStatus(to)
    roles = ELIGIBILITY_ROLES if to in (CourseStatus.ELIGIBLE, CourseStatus.INELIGIBLE) else COURSE_ROLES
    _require_role(actor, course.site, roles, f"Moving a course to {to.label}")
    with transaction.atomic():
        course = (
            EnrollmentCourse.objects.select_for_update().select_related("site", "patient").get(pk=course.pk)
        )
        _check_move(course, to)
        service = _BY_SERVICE.get((CourseStatus(course.status), to))
        if service is not None:
            raise ValidationFailed(
                f"status: to reach {to.label}, {service}",
                fields={"status": [f"use: {service}"]},
                code="illegal_transition",
            )
        if to in _NEEDS_REASON:
            reason = require_reason(reason)
        if to == CourseStatus.ELIGIBLE:
            # Enrollment beyond screening needs a current "eligible" result (or signed overrides).
            blocked = eligibility_gate(course)
            if blocked is not None:
                raise ValidationFailed(
                    f"status: the patient cannot be declared eligible: {blocked}",
                    fields={"status": [blocked]},
                    code="not_eligible",
                )
        return _move(actor, course, to, reason.strip())
