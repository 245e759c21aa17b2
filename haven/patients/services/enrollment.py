"""Consent (documents, records, re-consent, withdrawal) and enrollment, which needs it."""

from __future__ import annotations

import hashlib
import re
from datetime import date

from django.core.files.base import ContentFile
from django.db import transaction

from haven.accounts.models import Role, Site
from haven.accounts.signing import reauthenticate
from haven.audit.context import Actor
from haven.audit.models import SignatureMeaning
from haven.audit.services import audit_create, audit_update, require_reason
from haven.audit.signatures import signature_record
from haven.core.errors import Conflict, ValidationFailed, field_error
from haven.core.time import now, today_at
from haven.patients.models import (
    ConsentDocument,
    ConsentRecord,
    CourseStatus,
    EnrollmentCourse,
    Visit,
)
from haven.patients.roles import (
    CONSENT_ROLES,
    COURSE_ROLES,
)
from haven.patients.services.common import (
    MAX_CONSENT_BYTES,
    SIGNATURE_PATH,
    _require_role,
    _text,
)
from haven.patients.services.course import (
    OFF_STUDY,
    ON_STUDY,
    _check_move,
    _move,
)
from haven.patients.services.schedule import (
    _replan,
)
from haven.protocols.models import ProtocolVersion
from haven.protocols.plan import plan_schedule
from haven.protocols.selectors import protocol_of
from haven.protocols.services import protocol_freeze


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
