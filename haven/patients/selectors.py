"""Reads for patients, through the access layer: another site's patient is "not found"."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from django.db.models import Exists, OuterRef, Q, QuerySet

from haven.accounts.models import Role, Site, SiteMembership, User
from haven.accounts.selectors import roles_for
from haven.audit.models import Signature
from haven.core.errors import NotFound, PermissionDenied
from haven.core.ids import parse_public_id
from haven.core.time import now, today_at
from haven.patients.models import (
    ConsentDocument,
    ConsentRecord,
    CourseStatus,
    CourseTransition,
    Deviation,
    EnrollmentCourse,
    Patient,
    PatientIdentity,
    Visit,
    VisitNote,
    VisitStatus,
)
from haven.patients.roles import IDENTITY_ROLES, NOTE_READ_ROLES, RATER_VISIT_KINDS, READ_ROLES


def readable_sites(user: User) -> QuerySet[Site]:
    """Sites where ``user`` holds a role that may read patients."""
    return Site.objects.filter(
        is_active=True,
        pk__in=SiteMembership.objects.filter(user=user, role__in=READ_ROLES).values("site_id"),
    )


def patients_for(user: User) -> QuerySet[Patient]:
    return Patient.objects.filter(site__in=readable_sites(user)).select_related("site")


def access_patient(*, user: User, patient_id: uuid.UUID | str) -> Patient:
    patient = patients_for(user).filter(public_id=parse_public_id(patient_id)).first()
    if patient is None:
        raise NotFound("Patient not found.")
    return patient


def access_course(*, user: User, course_id: uuid.UUID | str) -> EnrollmentCourse:
    course = (
        EnrollmentCourse.objects.filter(public_id=parse_public_id(course_id), site__in=readable_sites(user))
        .select_related("site", "patient", "protocol_version")
        .first()
    )
    if course is None:
        raise NotFound("Course not found.")
    return course


def access_visit(*, user: User, visit_id: uuid.UUID | str) -> Visit:
    visit = (
        Visit.objects.filter(public_id=parse_public_id(visit_id), course__site__in=readable_sites(user))
        .select_related("course__site", "course__patient", "course__protocol_version")
        .first()
    )
    if visit is None:
        raise NotFound("Visit not found.")
    return visit


def may_read_note(user: User, visit: Visit) -> bool:
    """Therapy notes are for the clinical team; a blinded rater reads only assessment notes."""
    roles = roles_for(user, visit.course.site)
    if roles & NOTE_READ_ROLES:
        return True
    return Role.BLINDED_RATER in roles and visit.kind in RATER_VISIT_KINDS


def access_note(*, user: User, visit: Visit) -> VisitNote | None:
    """The visit's note, for a role that may read it (see ``may_read_note``)."""
    if not may_read_note(user, visit):
        raise PermissionDenied("Visit notes are not shown to your role.")
    return VisitNote.objects.filter(visit=visit).prefetch_related("attendees", "addenda").first()


def access_consent_document(*, user: User, document_id: uuid.UUID | str) -> ConsentDocument:
    document = (
        ConsentDocument.objects.filter(public_id=parse_public_id(document_id), site__in=readable_sites(user))
        .select_related("site", "protocol_version")
        .first()
    )
    if document is None:
        raise NotFound("Consent document not found.")
    return document


def may_see_identity(user: User, site: Site) -> bool:
    return bool(roles_for(user, site) & IDENTITY_ROLES)


@dataclass(frozen=True)
class PatientRow:
    patient: Patient
    course: EnrollmentCourse | None
    next_visit: Visit | None
    overdue: int


def patient_list(
    *,
    user: User,
    site: Site,
    query: str = "",
    status: str = "",
    only_overdue: bool = False,
    today: date | None = None,
) -> list[PatientRow]:
    """The site's patients with their latest course, next visit and count of overdue visits.

    ``query`` matches the study ID; for roles that may see identifying data it also matches names
    (the list still shows study IDs only).
    """
    today = today or today_at(site.time_zone)
    patients = patients_for(user).filter(site=site)
    if query:
        match = Q(study_id__icontains=query.strip())
        if may_see_identity(user, site):
            for word in query.split():
                match |= Q(identity__family_name__icontains=word) | Q(identity__given_name__icontains=word)
        patients = patients.filter(match).distinct()
    if status:
        patients = patients.filter(courses__status=status).distinct()
    overdue_visits = Visit.objects.filter(
        course__patient=OuterRef("pk"), status=VisitStatus.PLANNED, window_latest__lt=today
    )
    if only_overdue:
        patients = patients.filter(Exists(overdue_visits))
    patient_ids = list(patients.values_list("pk", flat=True))
    courses: dict[int, EnrollmentCourse] = {}
    for course in (
        EnrollmentCourse.objects.filter(patient_id__in=patient_ids)
        .select_related("protocol_version")
        .order_by("created_at")
    ):
        courses[course.patient_id] = course  # the latest wins
    next_visits: dict[int, Visit] = {}
    overdue: dict[int, int] = {}
    open_visits = Visit.objects.filter(
        course__patient_id__in=patient_ids, status=VisitStatus.PLANNED
    ).select_related("course")
    for visit in open_visits.order_by("target_date"):
        pid = visit.course.patient_id
        if visit.window_latest < today:
            overdue[pid] = overdue.get(pid, 0) + 1
        elif pid not in next_visits:
            next_visits[pid] = visit
    return [
        PatientRow(
            patient=p,
            course=courses.get(p.pk),
            next_visit=next_visits.get(p.pk),
            overdue=overdue.get(p.pk, 0),
        )
        for p in patients.order_by("study_id")
    ]


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime | date
    kind: Literal["status", "consent", "visit", "deviation", "note", "appointment", "trial"]
    text: str


def course_timeline(course: EnrollmentCourse, *, extra: Iterable[TimelineEvent] = ()) -> list[TimelineEvent]:
    """The course as one story: status changes, consents, visits, deviations and signed notes,
    plus ``extra`` events other apps contribute (appointments, from scheduling)."""
    events: list[TimelineEvent] = list(extra)
    for t in CourseTransition.objects.filter(course=course).select_related("by"):
        who = f" by {t.by.printed_name}" if t.by else ""
        why = f": {t.reason}" if t.reason else ""
        events.append(
            TimelineEvent(
                t.occurred_at,
                "status",
                f"{CourseStatus(t.from_status).label} → {CourseStatus(t.to_status).label}{who}{why}",
            )
        )
    for c in ConsentRecord.objects.filter(course=course).select_related("document"):
        events.append(TimelineEvent(c.patient_signed_at, "consent", f"Consent signed: {c.document}"))
        if c.withdrawn_at:
            events.append(
                TimelineEvent(c.withdrawn_at, "consent", f"Consent withdrawn: {c.withdrawal_reason}")
            )
    for v in Visit.objects.filter(course=course, occurred_on__isnull=False):
        if v.occurred_on is not None:
            text = f"{v.name} took place ({v.get_status_display().lower()})"
            events.append(TimelineEvent(v.occurred_on, "visit", text))
    for d in Deviation.objects.filter(course=course):
        events.append(TimelineEvent(d.created_at, "deviation", f"Deviation: {d.description}"))
    notes = VisitNote.objects.filter(visit__course=course, locked_at__isnull=False).select_related(
        "visit", "author"
    )
    for n in notes:
        if n.locked_at is not None:
            text = f"Note signed for {n.visit.name} by {n.author.printed_name}"
            events.append(TimelineEvent(n.locked_at, "note", text))

    def key(event: TimelineEvent) -> datetime:
        at = event.at
        return at if isinstance(at, datetime) else datetime(at.year, at.month, at.day, tzinfo=now().tzinfo)

    return sorted(events, key=key)


def course_visits(course: EnrollmentCourse) -> QuerySet[Visit]:
    return Visit.objects.filter(course=course).order_by("target_date", "pk")


def identity_of(patient: Patient) -> PatientIdentity:
    """Only for services that have already checked and audited the view."""
    return PatientIdentity.objects.get(patient=patient)


def note_signatures(note: VisitNote) -> QuerySet[Signature]:
    return Signature.objects.filter(record_type=VisitNote.record_type(), record_id=str(note.public_id))


def consent_document_list(*, site: Site) -> QuerySet[ConsentDocument]:
    """The site's consent documents, the one in use first."""
    return (
        ConsentDocument.objects.filter(site=site)
        .select_related("site", "protocol_version")
        .order_by("protocol_code", "-activated_at", "-created_at")
    )


def overdue_visits(*, site: Site, today: date) -> QuerySet[Visit]:
    """Planned visits whose window has closed (open courses only)."""
    return Visit.objects.filter(
        course__site=site,
        status=VisitStatus.PLANNED,
        window_latest__lt=today,
        course__status__in=[
            CourseStatus.PREPARATION,
            CourseStatus.TREATMENT,
            CourseStatus.INTEGRATION,
            CourseStatus.FOLLOW_UP,
        ],
    )


def visits_awaiting_note(*, site: Site) -> QuerySet[Visit]:
    """Visits that took place but are not completed: their note is not signed yet."""
    return Visit.objects.filter(course__site=site, status=VisitStatus.OCCURRED)


def courses_needing_reconsent(*, site: Site) -> list[EnrollmentCourse]:
    """On-study courses whose consent is not to the document now in use."""
    on_study = EnrollmentCourse.objects.filter(
        site=site,
        status__in=[
            CourseStatus.PREPARATION,
            CourseStatus.TREATMENT,
            CourseStatus.INTEGRATION,
            CourseStatus.FOLLOW_UP,
        ],
    ).select_related("patient")
    current = {
        d.protocol_code: d.pk
        for d in ConsentDocument.objects.filter(site=site, activated_at__isnull=False).order_by(
            "activated_at"
        )
    }
    consented = set(
        ConsentRecord.objects.filter(course__in=on_study, withdrawn_at__isnull=True).values_list(
            "course_id", "document_id"
        )
    )
    return [c for c in on_study if (c.pk, current.get(c.protocol_code)) not in consented]


def course_list(*, patient: Patient) -> QuerySet[EnrollmentCourse]:
    return (
        EnrollmentCourse.objects.filter(patient=patient)
        .select_related("protocol_version")
        .order_by("-created_at")
    )


def deviation_list(*, course: EnrollmentCourse) -> QuerySet[Deviation]:
    return Deviation.objects.filter(course=course).select_related("visit").order_by("-created_at")
