"""Writes for patients: registration, identity, the enrollment course, consent, visits and notes.

Each service checks the actor's role at the patient's site, validates (naming the field), changes,
and audits, in one transaction. Clinical logic lives here, never in views, forms or models.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

from haven.accounts.models import Role, Site, User
from haven.accounts.selectors import roles_for
from haven.accounts.signing import reauthenticate
from haven.audit.context import Actor
from haven.audit.models import AuditAction, SignatureMeaning
from haven.audit.services import audit_create, audit_record, audit_update, diff, require_reason, snapshot
from haven.audit.signatures import signature_record
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from haven.core.time import now, today_at
from haven.patients.models import (
    ConsentDocument,
    ConsentRecord,
    CourseStatus,
    CourseTransition,
    Deviation,
    DeviationKind,
    EnrollmentCourse,
    Patient,
    PatientIdentity,
    PatientNumberSequence,
    Sex,
    Visit,
    VisitNote,
    VisitNoteAddendum,
    VisitStatus,
)
from haven.patients.roles import (
    CONSENT_ROLES,
    COURSE_ROLES,
    ELIGIBILITY_ROLES,
    IDENTITY_ROLES,
    NOTE_ROLES,
    RATER_VISIT_KINDS,
    REGISTER_ROLES,
    VISIT_ROLES,
)
from haven.protocols.models import ProtocolVersion
from haven.protocols.plan import plan_schedule
from haven.protocols.selectors import protocol_of
from haven.protocols.services import protocol_freeze
from haven.screening.selectors import eligibility_gate

IDENTITY_FIELDS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "phone",
    "email",
    "address",
    "emergency_contact_name",
    "emergency_contact_phone",
)
PATIENT_FIELDS = ("site", "study_id", "sex_at_birth", "possible_duplicate_of")
VISIT_PLAN_FIELDS = ("target_date", "window_earliest", "window_latest", "status")
MAX_CONSENT_BYTES = 20 * 1024 * 1024
# A drawn signature: SVG path data only (move/line/curve commands and numbers), nothing executable.
SIGNATURE_PATH = re.compile(r"^[MLHVCSQTAZmlhvcsqtaz0-9.,\s-]{10,200000}$")


def _require_role(actor: Actor, site: Site, roles: Iterable[Role], doing: str) -> User:
    user = actor.user
    if user is None or not roles_for(user, site) & frozenset(roles):
        names = ", ".join(sorted(Role(r).label for r in roles))
        raise PermissionDenied(f"{doing} needs one of these roles at {site.name}: {names}.")
    return user


def _text(field: str, value: str, *, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise field_error(field, "is required")
    if len(value) > max_length:
        raise field_error(field, f"must be at most {max_length} characters")
    return value


# Registry ---------------------------------------------------------------------------------------
def _validated_identity(values: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    clean: dict[str, Any] = {
        "given_name": _text("given_name", values.get("given_name", ""), max_length=100),
        "family_name": _text("family_name", values.get("family_name", ""), max_length=100),
        "phone": _text("phone", values.get("phone", ""), max_length=40, required=False),
        "address": _text("address", values.get("address", ""), max_length=1000, required=False),
        "emergency_contact_name": _text(
            "emergency_contact_name", values.get("emergency_contact_name", ""), max_length=200, required=False
        ),
        "emergency_contact_phone": _text(
            "emergency_contact_phone",
            values.get("emergency_contact_phone", ""),
            max_length=40,
            required=False,
        ),
    }
    born = values.get("date_of_birth")
    if not isinstance(born, date):
        raise field_error("date_of_birth", "is required (YYYY-MM-DD)")
    if born > today:
        raise field_error("date_of_birth", "cannot be in the future")
    if born.year < 1900:
        raise field_error("date_of_birth", "must be in 1900 or later")
    clean["date_of_birth"] = born
    email = (values.get("email") or "").strip().lower()
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            raise field_error("email", "must be a valid e-mail address") from None
    clean["email"] = email
    return clean


def _next_study_id(site: Site) -> str:
    sequence, _ = PatientNumberSequence.objects.select_for_update().get_or_create(site=site)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"{site.code}-{sequence.last_number:04d}"


def _possible_duplicate(site: Site, identity: Mapping[str, Any]) -> Patient | None:
    """Same family name and birth date, or same full name, at the same site."""
    match = PatientIdentity.objects.filter(patient__site=site).filter(
        Q(family_name__iexact=identity["family_name"], date_of_birth=identity["date_of_birth"])
        | Q(family_name__iexact=identity["family_name"], given_name__iexact=identity["given_name"])
    )
    first = match.select_related("patient").order_by("patient__study_id").first()
    return first.patient if first else None


def patient_register(*, actor: Actor, site: Site, sex_at_birth: str, **identity: Any) -> Patient:
    """Register a patient: a new study ID, identifying data kept apart, a duplicate check."""
    user = _require_role(actor, site, REGISTER_ROLES, "Registering a patient")
    if sex_at_birth not in Sex.values:
        raise field_error("sex_at_birth", f"must be one of {', '.join(Sex.values)}")
    unknown = set(identity) - set(IDENTITY_FIELDS)
    if unknown:
        raise field_error(sorted(unknown)[0], "is not a field of a patient's identity")
    clean = _validated_identity(identity, today=today_at(site.time_zone))
    with transaction.atomic():
        patient = Patient.objects.create(
            site=site,
            study_id=_next_study_id(site),
            sex_at_birth=sex_at_birth,
            possible_duplicate_of=_possible_duplicate(site, clean),
            registered_by=user,
        )
        record = PatientIdentity.objects.create(patient=patient, **clean)
        audit_create(actor=actor, instance=patient, fields=PATIENT_FIELDS, site_id=site.public_id)
        audit_create(actor=actor, instance=record, fields=IDENTITY_FIELDS, site_id=site.public_id)
    return patient


def patient_identity_view(*, actor: Actor, patient: Patient, purpose: str = "") -> PatientIdentity:
    """The patient's identifying data, for a role that needs it. Every view is audited."""
    _require_role(actor, patient.site, IDENTITY_ROLES, "Seeing a patient's identifying data")
    identity = PatientIdentity.objects.get(patient=patient)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.VIEW,
            record_type=PatientIdentity.record_type(),
            record_id=identity.public_id,
            site_id=patient.site.public_id,
            changes={
                "patient": {"old": None, "new": patient.study_id},
                "purpose": {"old": None, "new": purpose},
            },
        )
    return identity


def patient_identity_update(
    *, actor: Actor, patient: Patient, reason: str, **changes: Any
) -> PatientIdentity:
    _require_role(actor, patient.site, IDENTITY_ROLES, "Changing a patient's identifying data")
    reason = require_reason(reason)
    with transaction.atomic():
        identity = PatientIdentity.objects.select_for_update().get(patient=patient)
        before = snapshot(identity, IDENTITY_FIELDS)
        clean = _validated_identity(
            {name: changes.get(name, getattr(identity, name)) for name in IDENTITY_FIELDS},
            today=today_at(patient.site.time_zone),
        )
        for name, value in clean.items():
            setattr(identity, name, value)
        changed = diff(before, snapshot(identity, IDENTITY_FIELDS))
        if changed:
            identity.save()
            audit_update(
                actor=actor, instance=identity, changes=changed, site_id=patient.site.public_id, reason=reason
            )
    return identity


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
    return course


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


# Consent ----------------------------------------------------------------------------------------
def consent_document_upload(
    *,
    actor: Actor,
    site: Site,
    protocol_version: ProtocolVersion,
    version_label: str,
    title: str,
    content: bytes,
    filename: str,
) -> ConsentDocument:
    _require_role(actor, site, (Role.COORDINATOR, Role.SITE_ADMIN), "Uploading a consent document")
    version_label = _text("version_label", version_label, max_length=40)
    title = _text("title", title, max_length=200)
    if not content.startswith(b"%PDF-"):
        raise field_error("file", "must be a PDF document")
    if len(content) > MAX_CONSENT_BYTES:
        raise field_error("file", f"must be at most {MAX_CONSENT_BYTES // (1024 * 1024)} MB")
    if ConsentDocument.objects.filter(
        site=site, protocol_code=protocol_version.code, version_label=version_label
    ).exists():
        raise field_error(
            "version_label", "this site already has a consent document with this version", code="conflict"
        )
    with transaction.atomic():
        document = ConsentDocument(
            site=site,
            protocol_code=protocol_version.code,
            protocol_version=protocol_version,
            version_label=version_label,
            title=title,
            sha256=hashlib.sha256(content).hexdigest(),
            uploaded_by=actor.user,
        )
        safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[-80:] or "consent.pdf"
        document.file.save(safe_name, ContentFile(content), save=False)
        document.save()
        audit_create(
            actor=actor,
            instance=document,
            fields=("protocol_code", "protocol_version", "version_label", "title", "sha256"),
            site_id=site.public_id,
        )
    return document


def consent_document_activate(*, actor: Actor, document: ConsentDocument) -> ConsentDocument:
    """Make ``document`` the form in use; patients consented on an earlier one must re-consent."""
    _require_role(actor, document.site, (Role.COORDINATOR, Role.SITE_ADMIN), "Activating a consent document")
    with transaction.atomic():
        document = ConsentDocument.objects.select_for_update().get(pk=document.pk)
        if document.activated_at is not None:
            raise Conflict("This consent document is already active or was active before.")
        document.activated_at = now()
        document.save(update_fields=["activated_at", "updated_at"])
        audit_update(
            actor=actor,
            instance=document,
            changes={"activated_at": {"old": None, "new": document.activated_at}},
            site_id=document.site.public_id,
            reason="new consent version in use",
        )
    return document


def consent_current_document(*, site: Site, protocol_code: str) -> ConsentDocument | None:
    return (
        ConsentDocument.objects.filter(site=site, protocol_code=protocol_code, activated_at__isnull=False)
        .order_by("-activated_at")
        .first()
    )


def consent_current(course: EnrollmentCourse) -> ConsentRecord | None:
    """The patient's standing consent to the document now in use, if any."""
    document = consent_current_document(site=course.site, protocol_code=course.protocol_code)
    if document is None:
        return None
    return ConsentRecord.objects.filter(course=course, document=document, withdrawn_at__isnull=True).first()


def consent_record(
    *,
    actor: Actor,
    course: EnrollmentCourse,
    document: ConsentDocument,
    patient_printed_name: str,
    patient_signature_svg: str,
    password: str,
    otp_code: str = "",
) -> ConsentRecord:
    """Record the patient's signature and countersign it (e-signature, meaning "witnessed").

    An eligible course becomes consented. On-study, this is a re-consent: when the new document
    belongs to a newer protocol version, the course moves to that version and its open visits are
    re-planned, all audited.
    """
    _require_role(actor, course.site, CONSENT_ROLES, "Taking consent")
    patient_printed_name = _text("patient_printed_name", patient_printed_name, max_length=200)
    signature = (patient_signature_svg or "").strip()
    if not SIGNATURE_PATH.match(signature):
        raise field_error(
            "patient_signature_svg", "the patient's drawn signature is missing or not a drawing"
        )
    course = EnrollmentCourse.objects.select_related("site", "patient").get(pk=course.pk)
    current = consent_current_document(site=course.site, protocol_code=course.protocol_code)
    if current is None or current.pk != document.pk:
        raise field_error("document", "is not the consent document in use for this protocol at this site")
    status = CourseStatus(course.status)
    if status not in (CourseStatus.ELIGIBLE, CourseStatus.CONSENTED, *ON_STUDY, CourseStatus.FOLLOW_UP):
        raise ValidationFailed(
            f"status: consent is taken once the patient is eligible; the course is {status.label}",
            fields={"status": ["not eligible yet, or off study"]},
            code="illegal_transition",
        )
    # Re-authenticate before writing anything, so a refusal leaves only its own audit entry.
    reauthenticate(actor=actor, password=password, otp_code=otp_code)
    with transaction.atomic():
        course = (
            EnrollmentCourse.objects.select_for_update().select_related("site", "patient").get(pk=course.pk)
        )
        record = ConsentRecord.objects.create(
            patient=course.patient,
            course=course,
            document=document,
            patient_printed_name=patient_printed_name,
            patient_signature_svg=signature,
            patient_signed_at=now(),
        )
        audit_create(
            actor=actor,
            instance=record,
            fields=("patient", "course", "document", "patient_printed_name", "patient_signed_at"),
            site_id=course.site.public_id,
        )
        signature_record(actor=actor, record=record, meaning=SignatureMeaning.WITNESSED)
        if course.status == CourseStatus.ELIGIBLE:
            _move(actor, course, CourseStatus.CONSENTED, "consent signed")
        elif course.protocol_version_id != document.protocol_version_id:
            previous = course.protocol_version
            course.protocol_version = document.protocol_version
            course.save(update_fields=["protocol_version", "updated_at"])
            audit_update(
                actor=actor,
                instance=course,
                changes={"protocol_version": {"old": str(previous), "new": str(document.protocol_version)}},
                site_id=course.site.public_id,
                reason=f"re-consent to {document}",
            )
            if course.enrolled_on is not None:
                protocol_freeze(actor=actor, version=document.protocol_version)
                _replan(actor, course, reason=f"moved to {document.protocol_version} by re-consent")
    return record


def consent_withdraw(*, actor: Actor, record: ConsentRecord, reason: str) -> ConsentRecord:
    """The patient withdraws consent: the course ends as withdrawn, with the reason."""
    _require_role(actor, record.course.site, CONSENT_ROLES, "Recording withdrawal of consent")
    reason = require_reason(reason)
    with transaction.atomic():
        record = ConsentRecord.objects.select_for_update().select_related("course__site").get(pk=record.pk)
        if record.withdrawn_at is not None:
            raise Conflict("This consent was already withdrawn.")
        record.withdrawn_at, record.withdrawal_reason = now(), reason
        record.save(update_fields=["withdrawn_at", "withdrawal_reason", "updated_at"])
        audit_update(
            actor=actor,
            instance=record,
            changes={"withdrawn_at": {"old": None, "new": record.withdrawn_at}},
            site_id=record.course.site.public_id,
            reason=reason,
        )
        course = EnrollmentCourse.objects.select_for_update().get(pk=record.course_id)
        if course.status not in OFF_STUDY:
            _move(actor, course, CourseStatus.WITHDRAWN, f"consent withdrawn: {reason}")
    return record


# Enrollment and the schedule --------------------------------------------------------------------
def course_enroll(*, actor: Actor, course: EnrollmentCourse, enrolled_on: date) -> EnrollmentCourse:
    """Enroll: needs standing consent to the document in use; freezes the protocol version and
    turns its visit plan into the patient's schedule."""
    _require_role(actor, course.site, COURSE_ROLES, "Enrolling a patient")
    if enrolled_on > today_at(course.site.time_zone):
        raise field_error("enrolled_on", "cannot be in the future")
    with transaction.atomic():
        course = (
            EnrollmentCourse.objects.select_for_update()
            .select_related("site", "patient", "protocol_version")
            .get(pk=course.pk)
        )
        _check_move(course, CourseStatus.PREPARATION)
        if consent_current(course) is None:
            raise ValidationFailed(
                "consent: enrollment needs the patient's consent to the consent document in use",
                fields={"consent": ["no current consent"]},
                code="consent_required",
            )
        protocol_freeze(actor=actor, version=course.protocol_version)
        course.enrolled_on = enrolled_on
        course.save(update_fields=["enrolled_on", "updated_at"])
        plan = plan_schedule(protocol_of(course.protocol_version), enrollment=enrolled_on)
        for p in plan:
            visit = Visit.objects.create(
                course=course,
                code=p.code,
                definition_code=p.definition,
                name=p.name,
                kind=p.kind.value,
                phase=p.phase,
                anchor=p.anchor,
                target_date=p.target,
                window_earliest=p.earliest,
                window_latest=p.latest,
                planned_minutes=p.duration_minutes,
            )
            audit_create(
                actor=actor,
                instance=visit,
                fields=("code", "target_date", "window_earliest", "window_latest"),
                site_id=course.site.public_id,
            )
        audit_update(
            actor=actor,
            instance=course,
            changes={
                "enrolled_on": {"old": None, "new": enrolled_on},
                "visits_planned": {"old": None, "new": len(plan)},
            },
            site_id=course.site.public_id,
            reason="enrollment",
        )
        return _move(actor, course, CourseStatus.PREPARATION, "enrolled")


def _replan(actor: Actor, course: EnrollmentCourse, *, reason: str) -> list[Visit]:
    """Re-plan the course's open visits from the visits that took place; audit each move.

    Visits that took place keep their dates. Planned visits move with their anchors; a planned
    visit that the (new) protocol no longer has is cancelled; one it adds is created.
    """
    assert course.enrolled_on is not None
    visits = {v.code: v for v in Visit.objects.select_for_update().filter(course=course)}
    happened = {code: v.occurred_on for code, v in visits.items() if v.occurred_on is not None}
    plan = {
        p.code: p
        for p in plan_schedule(
            protocol_of(course.protocol_version), enrollment=course.enrolled_on, actual=happened
        )
    }
    changed: list[Visit] = []
    for code, visit in visits.items():
        if visit.status != VisitStatus.PLANNED:
            continue
        before = snapshot(visit, VISIT_PLAN_FIELDS)
        planned = plan.get(code)
        if planned is None:
            visit.status = VisitStatus.CANCELLED
        else:
            visit.target_date, visit.window_earliest, visit.window_latest = (
                planned.target,
                planned.earliest,
                planned.latest,
            )
        changes = diff(before, snapshot(visit, VISIT_PLAN_FIELDS))
        if changes:
            visit.save()
            audit_update(
                actor=actor, instance=visit, changes=changes, site_id=course.site.public_id, reason=reason
            )
            changed.append(visit)
    for code, planned in plan.items():
        if code not in visits:
            visit = Visit.objects.create(
                course=course,
                code=code,
                definition_code=planned.definition,
                name=planned.name,
                kind=planned.kind.value,
                phase=planned.phase,
                anchor=planned.anchor,
                target_date=planned.target,
                window_earliest=planned.earliest,
                window_latest=planned.latest,
                planned_minutes=planned.duration_minutes,
            )
            audit_create(
                actor=actor, instance=visit, fields=("code", "target_date"), site_id=course.site.public_id
            )
            changed.append(visit)
    return changed


def visit_record_occurrence(*, actor: Actor, visit: Visit, occurred_on: date) -> Visit:
    """Record the day a visit took place; outside its window that is a protocol deviation.
    The visits anchored to it are re-planned from the actual date."""
    course = visit.course
    user = _require_role(actor, course.site, VISIT_ROLES, "Recording a visit")
    if occurred_on > today_at(course.site.time_zone):
        raise field_error("occurred_on", "cannot be in the future")
    if course.enrolled_on is not None and occurred_on < course.enrolled_on:
        raise field_error("occurred_on", f"cannot be before enrollment ({course.enrolled_on:%Y-%m-%d})")
    with transaction.atomic():
        visit = (
            Visit.objects.select_for_update()
            .select_related("course__site", "course__patient")
            .get(pk=visit.pk)
        )
        if visit.status != VisitStatus.PLANNED:
            raise Conflict(f"Visit {visit.code} is already {visit.get_status_display().lower()}.")
        visit.status, visit.occurred_on = VisitStatus.OCCURRED, occurred_on
        visit.save(update_fields=["status", "occurred_on", "updated_at"])
        audit_update(
            actor=actor,
            instance=visit,
            changes={
                "occurred_on": {"old": None, "new": occurred_on},
                "status": {"old": "planned", "new": "occurred"},
            },
            site_id=course.site.public_id,
            reason="visit took place",
        )
        outside = 0
        if occurred_on < visit.window_earliest:
            outside = (occurred_on - visit.window_earliest).days
        elif occurred_on > visit.window_latest:
            outside = (occurred_on - visit.window_latest).days
        if outside:
            side = "before" if outside < 0 else "after"
            deviation = Deviation.objects.create(
                course=course,
                visit=visit,
                kind=DeviationKind.VISIT_OUT_OF_WINDOW,
                days_outside_window=outside,
                description=(
                    f"{visit.name} took place on {occurred_on:%Y-%m-%d}, {abs(outside)} day(s) {side} its window "
                    f"({visit.window_earliest:%Y-%m-%d} to {visit.window_latest:%Y-%m-%d})."
                ),
                recorded_by=user,
            )
            audit_create(
                actor=actor,
                instance=deviation,
                fields=("kind", "description", "days_outside_window"),
                site_id=course.site.public_id,
            )
        _replan(actor, course, reason=f"re-planned after {visit.code} took place on {occurred_on:%Y-%m-%d}")
    return visit


def visit_mark_missed(*, actor: Actor, visit: Visit, reason: str) -> Visit:
    user = _require_role(actor, visit.course.site, VISIT_ROLES, "Recording a missed visit")
    reason = require_reason(reason)
    with transaction.atomic():
        visit = Visit.objects.select_for_update().select_related("course__site").get(pk=visit.pk)
        if visit.status != VisitStatus.PLANNED:
            raise Conflict(f"Visit {visit.code} is already {visit.get_status_display().lower()}.")
        visit.status = VisitStatus.MISSED
        visit.save(update_fields=["status", "updated_at"])
        audit_update(
            actor=actor,
            instance=visit,
            changes={"status": {"old": "planned", "new": "missed"}},
            site_id=visit.course.site.public_id,
            reason=reason,
        )
        deviation = Deviation.objects.create(
            course=visit.course,
            visit=visit,
            kind=DeviationKind.VISIT_MISSED,
            description=f"{visit.name} (due {visit.target_date:%Y-%m-%d}) was missed: {reason}",
            recorded_by=user,
        )
        audit_create(
            actor=actor,
            instance=deviation,
            fields=("kind", "description"),
            site_id=visit.course.site.public_id,
        )
    return visit


# Visit notes ------------------------------------------------------------------------------------
def _note_headings(visit: Visit) -> tuple[str, ...]:
    return protocol_of(visit.course.protocol_version).visit(visit.definition_code).note_template


def _check_note_author(actor: Actor, visit: Visit) -> User:
    user = _require_role(actor, visit.course.site, NOTE_ROLES, "Writing a visit note")
    roles = roles_for(user, visit.course.site)
    clinical = {Role.THERAPIST, Role.PHYSICIAN, Role.COORDINATOR}
    if not roles & clinical and visit.kind not in RATER_VISIT_KINDS:
        raise PermissionDenied("A blinded rater documents assessment and follow-up visits only.")
    return user


def visit_note_save(
    *,
    actor: Actor,
    visit: Visit,
    sections: Mapping[str, str],
    free_text: str,
    attendees: Iterable[User],
    duration_minutes: int,
) -> VisitNote:
    """Create or update the draft note of a visit (autosaved; locked only by signing)."""
    user = _check_note_author(actor, visit)
    headings = _note_headings(visit)
    unknown = [h for h in sections if h not in headings]
    if unknown:
        raise field_error(
            "sections",
            f"{unknown[0]!r} is not a heading of this visit's note ({', '.join(headings) or 'none'})",
        )
    if not 1 <= duration_minutes <= 24 * 60:
        raise field_error("duration_minutes", "must be between 1 and 1440")
    people = list(attendees)
    site_members = set(visit.course.site.memberships.values_list("user_id", flat=True))
    if any(p.pk not in site_members for p in people):
        raise field_error("attendees", "must be staff of this site")
    clean = {h: (sections.get(h) or "").strip() for h in headings}
    with transaction.atomic():
        note = VisitNote.objects.select_for_update().filter(visit=visit).first()
        if note is not None and note.locked_at is not None:
            raise Conflict("The note is signed and locked; add an addendum instead.")
        if note is None:
            note = VisitNote.objects.create(
                visit=visit,
                sections=clean,
                free_text=free_text.strip(),
                duration_minutes=duration_minutes,
                author=user,
            )
            note.attendees.set(people)
            audit_create(
                actor=actor,
                instance=note,
                fields=("visit", "sections", "free_text", "duration_minutes"),
                site_id=visit.course.site.public_id,
            )
            return note
        before = snapshot(note, ("sections", "free_text", "duration_minutes")) | {
            "attendees": sorted(str(u.public_id) for u in note.attendees.all())
        }
        note.sections, note.free_text, note.duration_minutes = clean, free_text.strip(), duration_minutes
        note.save()
        note.attendees.set(people)
        after = snapshot(note, ("sections", "free_text", "duration_minutes")) | {
            "attendees": sorted(str(u.public_id) for u in people)
        }
        changes = diff(before, after)
        if changes:
            # A draft is the author's working copy; its edits are kept, with a standing reason.
            audit_update(
                actor=actor,
                instance=note,
                changes=changes,
                site_id=visit.course.site.public_id,
                reason="draft autosaved",
            )
    return note


def visit_note_sign(*, actor: Actor, note: VisitNote, password: str, otp_code: str = "") -> VisitNote:
    """Sign and lock a note; the visit is then completed. Attendance must meet the protocol."""
    # Read the visit and note afresh: the caller's copies may predate the visit being recorded.
    note = VisitNote.objects.select_related("visit__course__site", "visit__course__protocol_version").get(
        pk=note.pk
    )
    visit = note.visit
    _check_note_author(actor, visit)
    if visit.status != VisitStatus.OCCURRED:
        raise ValidationFailed(
            "visit: record the day the visit took place before signing its note",
            fields={"visit": ["not recorded as taken place"]},
            code="visit_not_occurred",
        )
    if note.locked_at is not None:
        raise Conflict("The note is already signed.")
    if actor.user is None or note.author_id != actor.user.pk:
        raise PermissionDenied(
            f"Only the note's author ({note.author.printed_name}) signs it; others add a signed addendum."
        )
    need = protocol_of(visit.course.protocol_version).visit(visit.definition_code).staff
    attendees = list(note.attendees.all())
    for staff in need:
        present = [u for u in attendees if Role(staff.role.value) in roles_for(u, visit.course.site)]
        if len(present) < staff.count:
            raise field_error(
                "attendees",
                f"this visit needs {staff.count} {staff.role.value}(s) present; the note lists {len(present)}",
            )
    reauthenticate(actor=actor, password=password, otp_code=otp_code)
    with transaction.atomic():
        note = VisitNote.objects.select_for_update().get(pk=note.pk)
        note.locked_at = now()
        note.save(update_fields=["locked_at", "updated_at"])
        signature_record(actor=actor, record=note, meaning=SignatureMeaning.AUTHORED)
        visit = Visit.objects.select_for_update().get(pk=visit.pk)
        visit.status, visit.duration_minutes = VisitStatus.COMPLETED, note.duration_minutes
        visit.save(update_fields=["status", "duration_minutes", "updated_at"])
        audit_update(
            actor=actor,
            instance=visit,
            changes={"status": {"old": "occurred", "new": "completed"}},
            site_id=visit.course.site.public_id,
            reason="note signed",
        )
    return note


def visit_note_addendum(
    *, actor: Actor, note: VisitNote, text: str, password: str, otp_code: str = ""
) -> VisitNoteAddendum:
    author = _check_note_author(actor, note.visit)
    text = _text("text", text, max_length=20000)
    if note.locked_at is None:
        raise ValidationFailed(
            "note: an addendum is for a signed note; edit the draft instead", code="note_not_locked"
        )
    reauthenticate(actor=actor, password=password, otp_code=otp_code)
    with transaction.atomic():
        addendum = VisitNoteAddendum.objects.create(note=note, text=text, author=author)
        audit_create(
            actor=actor, instance=addendum, fields=("note", "text"), site_id=note.visit.course.site.public_id
        )
        signature_record(actor=actor, record=addendum, meaning=SignatureMeaning.AUTHORED)
    return addendum
