"""Input and output schemas of the patients API: one per operation, no identifying data outside
``IdentityOut``. The services validate the clinical rules; these only shape the payloads."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from haven.accounts.schemas import SignatureOut
from haven.patients.models import CourseStatus, Sex, VisitStatus


# Patients ---------------------------------------------------------------------------------------
class PatientFilter(Schema):
    q: str = Field("", max_length=100, description="study ID, or (for roles that may) a name")
    status: CourseStatus | None = Field(None, description="only patients with a course in this status")
    overdue: bool = Field(False, description="only patients with a visit past its window")


class NextVisitOut(Schema):
    id: uuid.UUID
    code: str
    name: str
    target_date: date
    window_earliest: date
    window_latest: date


class PatientRowOut(Schema):
    id: uuid.UUID
    study_id: str
    sex_at_birth: Sex
    possible_duplicate_of: str | None = Field(description="study ID of a possible duplicate")
    course_id: uuid.UUID | None
    course_status: CourseStatus | None
    protocol_code: str | None
    protocol_version: str | None
    next_visit: NextVisitOut | None
    overdue: int = Field(description="planned visits whose window has passed")


class PatientRegisterIn(Schema):
    sex_at_birth: Sex
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: date
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    address: str = Field("", max_length=1000)
    emergency_contact_name: str = Field("", max_length=200)
    emergency_contact_phone: str = Field("", max_length=40)


class PatientOut(Schema):
    """A patient as the rest of Haven knows them: by study ID, never by name."""

    id: uuid.UUID
    site_id: uuid.UUID
    study_id: str
    sex_at_birth: Sex
    possible_duplicate_of: str | None = Field(
        description="study ID of a patient at the site with the same name or birth date; warn the user"
    )
    registered_at: datetime


class CourseSummaryOut(Schema):
    id: uuid.UUID
    status: CourseStatus
    protocol_code: str
    protocol_version: str
    enrolled_on: date | None


class PatientDetailOut(PatientOut):
    courses: list[CourseSummaryOut]


class IdentityOut(Schema):
    patient_id: uuid.UUID
    study_id: str
    given_name: str
    family_name: str
    date_of_birth: date
    phone: str
    email: str
    address: str
    emergency_contact_name: str
    emergency_contact_phone: str


class IdentityUpdateIn(Schema):
    """Only the fields sent are changed."""

    given_name: str | None = Field(None, max_length=100)
    family_name: str | None = Field(None, max_length=100)
    date_of_birth: date | None = None
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    address: str | None = Field(None, max_length=1000)
    emergency_contact_name: str | None = Field(None, max_length=200)
    emergency_contact_phone: str | None = Field(None, max_length=40)
    reason: str = Field(description="Why the data is changed (required, kept in the audit trail)")


# Courses ----------------------------------------------------------------------------------------
class CourseOpenIn(Schema):
    protocol_code: str = Field(max_length=40)
    protocol_version: str = Field(max_length=20)


class VisitOut(Schema):
    id: uuid.UUID
    code: str
    name: str
    kind: str
    phase: str
    target_date: date
    window_earliest: date
    window_latest: date
    planned_minutes: int
    status: VisitStatus
    occurred_on: date | None
    duration_minutes: int | None


class ConsentSummaryOut(Schema):
    id: uuid.UUID
    document_id: uuid.UUID
    document: str
    signed_at: datetime
    withdrawn_at: datetime | None


class DeviationOut(Schema):
    id: uuid.UUID
    kind: str
    description: str
    visit_code: str | None
    days_outside_window: int | None
    recorded_at: datetime


class TimelineEventOut(Schema):
    at: datetime | date
    kind: Literal["status", "consent", "visit", "deviation", "note", "appointment", "trial"]
    text: str


class CourseOut(Schema):
    id: uuid.UUID
    patient_id: uuid.UUID
    study_id: str
    site_id: uuid.UUID
    status: CourseStatus
    protocol_code: str
    protocol_version: str
    enrolled_on: date | None
    off_study_reason: str
    visits: list[VisitOut]
    consents: list[ConsentSummaryOut]
    deviations: list[DeviationOut]
    timeline: list[TimelineEventOut]


class CourseTransitionIn(Schema):
    status: CourseStatus
    reason: str = Field("", description="Required to end a course or rule a patient ineligible")


class CourseEnrollIn(Schema):
    enrolled_on: date


# Consent ----------------------------------------------------------------------------------------
class ConsentRecordIn(Schema):
    document_id: uuid.UUID
    patient_printed_name: str = Field(max_length=200)
    patient_signature_svg: str = Field(description="The patient's drawn signature, as SVG path data")
    password: str = Field(description="The witness's password, re-entered to countersign")
    otp_code: str = ""


class ConsentOut(Schema):
    id: uuid.UUID
    course_id: uuid.UUID
    document_id: uuid.UUID
    document: str
    patient_printed_name: str
    signed_at: datetime
    withdrawn_at: datetime | None
    withdrawal_reason: str
    signatures: list[SignatureOut]


class ConsentWithdrawIn(Schema):
    reason: str


class ConsentDocumentUploadIn(Schema):
    protocol_code: str = Field(max_length=40)
    protocol_version: str = Field(max_length=20)
    version_label: str = Field(max_length=40)
    title: str = Field(max_length=200)


class ConsentDocumentOut(Schema):
    id: uuid.UUID
    site_id: uuid.UUID
    protocol_code: str
    protocol_version: str
    version_label: str
    title: str
    sha256: str
    uploaded_at: datetime
    activated_at: datetime | None


# Visits and notes -------------------------------------------------------------------------------
class VisitOccurrenceIn(Schema):
    occurred_on: date


class VisitMissedIn(Schema):
    reason: str


class AttendeeOut(Schema):
    id: uuid.UUID
    printed_name: str


class AddendumOut(Schema):
    id: uuid.UUID
    text: str
    author: str
    written_at: datetime
    signatures: list[SignatureOut]


class NoteOut(Schema):
    id: uuid.UUID
    visit_id: uuid.UUID
    sections: dict[str, str]
    free_text: str
    attendees: list[AttendeeOut]
    duration_minutes: int
    author: str
    locked_at: datetime | None
    signatures: list[SignatureOut]
    addenda: list[AddendumOut]


class NoteSaveIn(Schema):
    sections: dict[str, str] = Field(default_factory=dict, description="heading → text")
    free_text: str = ""
    attendee_ids: list[uuid.UUID] = Field(default_factory=list, description="user ids of staff present")
    duration_minutes: int


class NoteSignIn(Schema):
    password: str
    otp_code: str = ""


class AddendumCreateIn(Schema):
    text: str
    password: str
    otp_code: str = ""
