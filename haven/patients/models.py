"""Patients, their identifying data (kept apart), consent, the enrollment course and its visits.

The study ID is the patient's name everywhere in Haven. Identifying data lives in
``PatientIdentity``, readable only by the roles that need it, and every view of it is audited.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.db import models

from haven.accounts.models import Site
from haven.core.models import BaseModel
from haven.protocols.models import ProtocolVersion


class PatientNumberSequence(models.Model):
    """The last study number handed out at a site; locked while the next one is taken."""

    site = models.OneToOneField(Site, on_delete=models.PROTECT, related_name="+")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.site.code}: {self.last_number}"


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    UNKNOWN = "unknown", "Unknown"


class Patient(BaseModel):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    study_id = models.CharField(max_length=20, unique=True)
    # Sex at birth is clinical (sex-specific limits such as QTc), not identifying on its own.
    sex_at_birth = models.CharField(max_length=10, choices=Sex.choices)
    possible_duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Set at registration when another patient at the site has the same name and birth date.",
    )
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["study_id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(sex_at_birth__in=Sex.values), name="patient_sex_known"),
        ]

    def __str__(self) -> str:
        return self.study_id


class PatientIdentity(BaseModel):
    """Who the patient is. Never shown beside clinical data unless the role needs it; views audited."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="identity")
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_phone = models.CharField(max_length=40, blank=True)

    class Meta:
        indexes = [models.Index(fields=["family_name", "date_of_birth"])]

    def __str__(self) -> str:
        return f"identity of {self.patient}"


class CourseStatus(models.TextChoices):
    """The enrollment course's state, after FHIR R4 ResearchSubject.status (see ``FHIR_STATUS``)."""

    CANDIDATE = "candidate", "Candidate"
    SCREENING = "screening", "Screening"
    ELIGIBLE = "eligible", "Eligible"
    INELIGIBLE = "ineligible", "Ineligible"
    CONSENTED = "consented", "Consented"
    PREPARATION = "preparation", "On study: preparation"
    TREATMENT = "treatment", "On study: treatment"
    INTEGRATION = "integration", "On study: integration"
    FOLLOW_UP = "follow_up", "Follow-up"
    COMPLETED = "completed", "Off study: completed"
    WITHDRAWN = "withdrawn", "Off study: withdrawn"
    LOST = "lost_to_follow_up", "Off study: lost to follow-up"


class EnrollmentCourse(BaseModel):
    """One patient's course of treatment under one protocol, from candidate to off-study."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="courses")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    protocol_code = models.CharField(max_length=40)
    protocol_version = models.ForeignKey(
        ProtocolVersion,
        on_delete=models.PROTECT,
        related_name="courses",
        help_text="The version the patient follows; changes only by an audited re-consent.",
    )
    status = models.CharField(max_length=20, choices=CourseStatus.choices, default=CourseStatus.CANDIDATE)
    enrolled_on = models.DateField(null=True, blank=True)
    off_study_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=CourseStatus.values), name="course_status_known"
            ),
            # One open course per patient and protocol at a time.
            models.UniqueConstraint(
                fields=["patient", "protocol_code"],
                condition=~models.Q(status__in=["completed", "withdrawn", "lost_to_follow_up", "ineligible"]),
                name="course_one_open_per_protocol",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} on {self.protocol_version}"


class CourseTransition(BaseModel):
    course = models.ForeignKey(EnrollmentCourse, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=CourseStatus.choices)
    to_status = models.CharField(max_length=20, choices=CourseStatus.choices)
    occurred_at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["occurred_at", "pk"]

    def __str__(self) -> str:
        return f"{self.course}: {self.from_status} → {self.to_status}"


class ConsentDocument(BaseModel):
    """A version of the consent form for one protocol at one site (the signed PDF text)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="consent_documents")
    protocol_code = models.CharField(max_length=40)
    protocol_version = models.ForeignKey(ProtocolVersion, on_delete=models.PROTECT, related_name="+")
    version_label = models.CharField(max_length=40, help_text="e.g. 'v3, 2026-02-01 (IRB approved)'")
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to="consent/%Y/")
    sha256 = models.CharField(max_length=64)
    activated_at = models.DateTimeField(null=True, blank=True, help_text="When it became the form in use.")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-activated_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "protocol_code", "version_label"], name="consent_document_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.version_label})"


class ConsentRecord(BaseModel):
    """A patient's consent to one document version: their signature, and staff countersignature.

    The countersignature is an e-signature (meaning "witnessed") over this record's content, which
    includes a hash of the patient's drawn signature and of the document.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    course = models.ForeignKey(EnrollmentCourse, on_delete=models.PROTECT, related_name="consents")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="records")
    patient_printed_name = models.CharField(max_length=200)
    patient_signature_svg = models.TextField(help_text="The signature as drawn on the tablet (SVG path).")
    patient_signed_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-patient_signed_at"]

    def __str__(self) -> str:
        return f"consent of {self.patient} to {self.document}"

    def signed_content(self) -> dict[str, Any]:
        return {
            "patient": self.patient.study_id,
            "course": str(self.course.public_id),
            "document": str(self.document.public_id),
            "document_sha256": self.document.sha256,
            "patient_printed_name": self.patient_printed_name,
            "patient_signature_sha256": hashlib.sha256(self.patient_signature_svg.encode()).hexdigest(),
            "patient_signed_at": self.patient_signed_at.isoformat(),
        }

    def signing_site_id(self) -> uuid.UUID:
        return self.patient.site.public_id


class VisitStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    OCCURRED = "occurred", "Took place, note not signed"
    COMPLETED = "completed", "Completed (note signed)"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "Cancelled"


class Visit(BaseModel):
    """One visit of a course's schedule, planned from the protocol at enrollment."""

    course = models.ForeignKey(EnrollmentCourse, on_delete=models.PROTECT, related_name="visits")
    code = models.CharField(max_length=50)
    definition_code = models.CharField(max_length=40)
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=20)
    phase = models.CharField(max_length=40)
    anchor = models.CharField(max_length=50)
    target_date = models.DateField()
    window_earliest = models.DateField()
    window_latest = models.DateField()
    planned_minutes = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=VisitStatus.choices, default=VisitStatus.PLANNED)
    occurred_on = models.DateField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["target_date", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["course", "code"], name="visit_code_unique_in_course"),
            models.CheckConstraint(
                condition=models.Q(window_earliest__lte=models.F("target_date")), name="visit_window_before"
            ),
            models.CheckConstraint(
                condition=models.Q(window_latest__gte=models.F("target_date")), name="visit_window_after"
            ),
            models.CheckConstraint(
                condition=models.Q(status="planned", occurred_on__isnull=True)
                | models.Q(status__in=["occurred", "completed"], occurred_on__isnull=False)
                | models.Q(status__in=["missed", "cancelled"]),
                name="visit_occurred_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course.patient} {self.code}"


class DeviationKind(models.TextChoices):
    VISIT_OUT_OF_WINDOW = "visit_out_of_window", "Visit outside its window"
    VISIT_MISSED = "visit_missed", "Visit missed"
    STAFFING = "staffing", "Fewer staff present than the protocol requires"


class Deviation(BaseModel):
    """A protocol deviation, recorded by Haven when it sees one, or by staff."""

    course = models.ForeignKey(EnrollmentCourse, on_delete=models.PROTECT, related_name="deviations")
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="deviations"
    )
    kind = models.CharField(max_length=30, choices=DeviationKind.choices)
    description = models.TextField()
    days_outside_window = models.IntegerField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.course.patient}: {self.get_kind_display()}"


class VisitNote(BaseModel):
    """The clinician's note of a visit: the protocol's headings plus free text, who attended, how long.

    Signing locks it (e-signature, meaning "authored"); after that it changes only by dated addenda.
    """

    visit = models.OneToOneField(Visit, on_delete=models.PROTECT, related_name="note")
    sections = models.JSONField(default=dict, help_text="heading → text, headings from the protocol")
    free_text = models.TextField(blank=True)
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+")
    duration_minutes = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    locked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"note of {self.visit}"

    def signed_content(self) -> dict[str, Any]:
        return {
            "visit": str(self.visit.public_id),
            "sections": self.sections,
            "free_text": self.free_text,
            "attendees": sorted(str(u.public_id) for u in self.attendees.all()),
            "duration_minutes": self.duration_minutes,
        }

    def signing_site_id(self) -> uuid.UUID:
        return self.visit.course.site.public_id


class VisitNoteAddendum(BaseModel):
    """A dated addition to a locked note. Signed by its author; never edited."""

    note = models.ForeignKey(VisitNote, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"addendum to {self.note}"

    def signed_content(self) -> dict[str, Any]:
        return {
            "note": str(self.note.public_id),
            "text": self.text,
            "written_at": self.created_at.isoformat(),
        }

    def signing_site_id(self) -> uuid.UUID:
        return self.note.visit.course.site.public_id
