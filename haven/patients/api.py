"""Patients API: the registry, identity (audited), courses, consent, visits and their notes.

Rows are loaded only through the ``access_*`` selectors, so another site's rows are "not found";
every decision about what may happen is the services'. A reference to another row in a request
body that does not resolve (a document, a protocol, an attendee) is invalid input (422 naming the
field); an id in the path that does not resolve is 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.http import FileResponse, HttpRequest
from ninja import File, Form, Query, Router, Status, UploadedFile

from haven.accounts.auth import principal_actor, principal_user, user_auth
from haven.accounts.models import User
from haven.accounts.schemas import SignatureOut
from haven.accounts.selectors import access_site, site_member
from haven.audit.signatures import SignatureView, signatures_for, signatures_for_many
from haven.core.errors import NotFound, field_error
from haven.core.schemas import ERRORS
from haven.patients import selectors, services
from haven.patients.models import (
    ConsentDocument,
    ConsentRecord,
    EnrollmentCourse,
    Patient,
    PatientIdentity,
    Visit,
    VisitNote,
)
from haven.patients.roles import READ_ROLES
from haven.patients.schemas import (
    AddendumCreateIn,
    AddendumOut,
    AttendeeOut,
    ConsentDocumentOut,
    ConsentDocumentUploadIn,
    ConsentOut,
    ConsentRecordIn,
    ConsentSummaryOut,
    ConsentWithdrawIn,
    CourseEnrollIn,
    CourseOpenIn,
    CourseOut,
    CourseSummaryOut,
    CourseTransitionIn,
    DeviationOut,
    IdentityOut,
    IdentityUpdateIn,
    NextVisitOut,
    NoteOut,
    NoteSaveIn,
    NoteSignIn,
    PatientDetailOut,
    PatientFilter,
    PatientOut,
    PatientRegisterIn,
    PatientRowOut,
    TimelineEventOut,
    VisitMissedIn,
    VisitOccurrenceIn,
    VisitOut,
)
from haven.protocols.models import ProtocolVersion
from haven.protocols.selectors import protocol_version_get
from haven.scheduling.selectors import appointment_events
from haven.trials.selectors import trial_events

router = Router(auth=user_auth, tags=["patients"])


# Loading ----------------------------------------------------------------------------------------
def _access_consent(user: User, consent_id: uuid.UUID) -> ConsentRecord:
    """A consent record, through its course's site: another site's record is "not found"."""
    record = (
        ConsentRecord.objects.filter(public_id=consent_id, course__site__in=selectors.readable_sites(user))
        .select_related("course__site", "patient__site", "document")
        .first()
    )
    if record is None:
        raise NotFound("Consent not found.")
    return record


def _note_of(visit: Visit) -> VisitNote:
    """The note of a visit already loaded through ``access_visit``, for its author to sign or amend.

    Not ``access_note``: that guards *reading* therapy notes, and a blinded rater signs the notes of
    the assessment visits they document. The service decides who may sign.
    """
    note = VisitNote.objects.filter(visit=visit).select_related("visit__course__site").first()
    if note is None:
        raise NotFound("No note has been written for this visit yet.")
    return note


def _protocol(code: str, version: str, *, field: str = "protocol_version") -> ProtocolVersion:
    try:
        return protocol_version_get(code=code, version=version)
    except NotFound:
        raise field_error(field, f"no protocol {code} {version} is loaded") from None


def _attendees(visit: Visit, ids: Iterable[uuid.UUID]) -> list[User]:
    site = visit.course.site
    people: list[User] = []
    for user_id in dict.fromkeys(ids):
        try:
            people.append(site_member(site=site, user_id=user_id))
        except NotFound:
            raise field_error("attendee_ids", f"{user_id} is not staff of this site") from None
    return people


# Shaping ----------------------------------------------------------------------------------------
def _signatures(views: Iterable[SignatureView]) -> list[SignatureOut]:
    return [
        SignatureOut(
            id=view.signature.public_id,
            printed_name=view.signature.printed_name,
            meaning=view.signature.meaning,
            signed_at=view.signature.signed_at,
            status=view.status,
        )
        for view in views
    ]


def _patient_out(patient: Patient) -> PatientOut:
    duplicate = patient.possible_duplicate_of
    return PatientOut(
        id=patient.public_id,
        site_id=patient.site.public_id,
        study_id=patient.study_id,
        sex_at_birth=patient.sex_at_birth,  # type: ignore[arg-type]
        possible_duplicate_of=duplicate.study_id if duplicate else None,
        registered_at=patient.created_at,
    )


def _identity_out(patient: Patient, identity: PatientIdentity) -> IdentityOut:
    return IdentityOut(
        patient_id=patient.public_id,
        study_id=patient.study_id,
        given_name=identity.given_name,
        family_name=identity.family_name,
        date_of_birth=identity.date_of_birth,
        phone=identity.phone,
        email=identity.email,
        address=identity.address,
        emergency_contact_name=identity.emergency_contact_name,
        emergency_contact_phone=identity.emergency_contact_phone,
    )


def _visit_out(visit: Visit) -> VisitOut:
    return VisitOut(
        id=visit.public_id,
        code=visit.code,
        name=visit.name,
        kind=visit.kind,
        phase=visit.phase,
        target_date=visit.target_date,
        window_earliest=visit.window_earliest,
        window_latest=visit.window_latest,
        planned_minutes=visit.planned_minutes,
        status=visit.status,  # type: ignore[arg-type]
        occurred_on=visit.occurred_on,
        duration_minutes=visit.duration_minutes,
    )


def _course_out(course: EnrollmentCourse) -> CourseOut:
    # Re-read: a service may have changed the course (status, version) since it was loaded.
    course = EnrollmentCourse.objects.select_related("site", "patient", "protocol_version").get(pk=course.pk)
    consents = ConsentRecord.objects.filter(course=course).select_related("document")
    deviations = course.deviations.select_related("visit")
    return CourseOut(
        id=course.public_id,
        patient_id=course.patient.public_id,
        study_id=course.patient.study_id,
        site_id=course.site.public_id,
        status=course.status,  # type: ignore[arg-type]
        protocol_code=course.protocol_code,
        protocol_version=course.protocol_version.version,
        enrolled_on=course.enrolled_on,
        off_study_reason=course.off_study_reason,
        visits=[_visit_out(v) for v in selectors.course_visits(course)],
        consents=[
            ConsentSummaryOut(
                id=c.public_id,
                document_id=c.document.public_id,
                document=str(c.document),
                signed_at=c.patient_signed_at,
                withdrawn_at=c.withdrawn_at,
            )
            for c in consents
        ],
        deviations=[
            DeviationOut(
                id=d.public_id,
                kind=d.kind,
                description=d.description,
                visit_code=d.visit.code if d.visit else None,
                days_outside_window=d.days_outside_window,
                recorded_at=d.created_at,
            )
            for d in deviations
        ],
        timeline=[
            TimelineEventOut(at=e.at, kind=e.kind, text=e.text)
            for e in selectors.course_timeline(
                course, extra=[*appointment_events(course), *trial_events(course)]
            )
        ],
    )


def _consent_out(record: ConsentRecord) -> ConsentOut:
    record = ConsentRecord.objects.select_related("course", "document", "patient__site").get(pk=record.pk)
    return ConsentOut(
        id=record.public_id,
        course_id=record.course.public_id,
        document_id=record.document.public_id,
        document=str(record.document),
        patient_printed_name=record.patient_printed_name,
        signed_at=record.patient_signed_at,
        withdrawn_at=record.withdrawn_at,
        withdrawal_reason=record.withdrawal_reason,
        signatures=_signatures(signatures_for(record)),
    )


def _document_out(document: ConsentDocument) -> ConsentDocumentOut:
    return ConsentDocumentOut(
        id=document.public_id,
        site_id=document.site.public_id,
        protocol_code=document.protocol_code,
        protocol_version=document.protocol_version.version,
        version_label=document.version_label,
        title=document.title,
        sha256=document.sha256,
        uploaded_at=document.created_at,
        activated_at=document.activated_at,
    )


def _note_out(note: VisitNote) -> NoteOut:
    note = (
        VisitNote.objects.select_related("visit__course__site", "author")
        .prefetch_related("attendees")
        .get(pk=note.pk)
    )
    addenda = list(note.addenda.select_related("author", "note__visit__course__site"))
    addendum_signatures = signatures_for_many(addenda)
    return NoteOut(
        id=note.public_id,
        visit_id=note.visit.public_id,
        sections=note.sections,
        free_text=note.free_text,
        attendees=[AttendeeOut(id=u.public_id, printed_name=u.printed_name) for u in note.attendees.all()],
        duration_minutes=note.duration_minutes,
        author=note.author.printed_name,
        locked_at=note.locked_at,
        signatures=_signatures(signatures_for(note)),
        addenda=[
            AddendumOut(
                id=a.public_id,
                text=a.text,
                author=a.author.printed_name,
                written_at=a.created_at,
                signatures=_signatures(addendum_signatures[a.public_id]),
            )
            for a in addenda
        ],
    )


# Patients ---------------------------------------------------------------------------------------
@router.get(
    "/sites/{site_id}/patients",
    response={200: list[PatientRowOut], **ERRORS},
    summary="A site's patients with their course, next visit and overdue visits",
)
def patient_list(
    request: HttpRequest, site_id: uuid.UUID, filters: Query[PatientFilter]
) -> list[PatientRowOut]:
    user = principal_user(request)
    site = access_site(user=user, site_id=site_id, roles=READ_ROLES)
    rows = selectors.patient_list(
        user=user,
        site=site,
        query=filters.q,
        status=filters.status.value if filters.status else "",
        only_overdue=filters.overdue,
    )
    # The duplicates' study IDs in one query, not one per row.
    duplicate_pks = {r.patient.possible_duplicate_of_id for r in rows if r.patient.possible_duplicate_of_id}
    duplicates: dict[int | None, str] = dict(
        selectors.patients_for(user).filter(pk__in=duplicate_pks).values_list("pk", "study_id")
    )
    result: list[PatientRowOut] = []
    for row in rows:
        course, visit = row.course, row.next_visit
        result.append(
            PatientRowOut(
                id=row.patient.public_id,
                study_id=row.patient.study_id,
                sex_at_birth=row.patient.sex_at_birth,  # type: ignore[arg-type]
                possible_duplicate_of=duplicates.get(row.patient.possible_duplicate_of_id),
                course_id=course.public_id if course else None,
                course_status=course.status if course else None,  # type: ignore[arg-type]
                protocol_code=course.protocol_code if course else None,
                protocol_version=course.protocol_version.version if course else None,
                next_visit=NextVisitOut(
                    id=visit.public_id,
                    code=visit.code,
                    name=visit.name,
                    target_date=visit.target_date,
                    window_earliest=visit.window_earliest,
                    window_latest=visit.window_latest,
                )
                if visit
                else None,
                overdue=row.overdue,
            )
        )
    return result


@router.post(
    "/sites/{site_id}/patients",
    response={201: PatientOut, **ERRORS},
    summary="Register a patient (coordinator, physician, site admin); warns of a possible duplicate",
)
def patient_register(
    request: HttpRequest, site_id: uuid.UUID, payload: PatientRegisterIn
) -> Status[PatientOut]:
    site = access_site(user=principal_user(request), site_id=site_id)
    identity = payload.model_dump(exclude={"sex_at_birth"})
    patient = services.patient_register(
        actor=principal_actor(request), site=site, sex_at_birth=payload.sex_at_birth.value, **identity
    )
    return Status(201, _patient_out(patient))


@router.get(
    "/patients/{patient_id}",
    response={200: PatientDetailOut, **ERRORS},
    summary="A patient and their courses",
)
def patient_get(request: HttpRequest, patient_id: uuid.UUID) -> PatientDetailOut:
    patient = selectors.access_patient(user=principal_user(request), patient_id=patient_id)
    courses = patient.courses.select_related("protocol_version").order_by("-created_at")
    return PatientDetailOut(
        **_patient_out(patient).model_dump(),
        courses=[
            CourseSummaryOut(
                id=c.public_id,
                status=c.status,  # type: ignore[arg-type]
                protocol_code=c.protocol_code,
                protocol_version=c.protocol_version.version,
                enrolled_on=c.enrolled_on,
            )
            for c in courses
        ],
    )


@router.get(
    "/patients/{patient_id}/identity",
    response={200: IdentityOut, **ERRORS},
    summary="The patient's identifying data (roles that care for them; every view is audited)",
)
def patient_identity_view(request: HttpRequest, patient_id: uuid.UUID, purpose: str = "") -> IdentityOut:
    patient = selectors.access_patient(user=principal_user(request), patient_id=patient_id)
    identity = services.patient_identity_view(
        actor=principal_actor(request), patient=patient, purpose=purpose
    )
    return _identity_out(patient, identity)


@router.patch(
    "/patients/{patient_id}/identity",
    response={200: IdentityOut, **ERRORS},
    summary="Correct the patient's identifying data (only the fields sent; reason required)",
)
def patient_identity_update(
    request: HttpRequest, patient_id: uuid.UUID, payload: IdentityUpdateIn
) -> IdentityOut:
    patient = selectors.access_patient(user=principal_user(request), patient_id=patient_id)
    changes = payload.model_dump(exclude={"reason"}, exclude_none=True)
    identity = services.patient_identity_update(
        actor=principal_actor(request), patient=patient, reason=payload.reason, **changes
    )
    return _identity_out(patient, identity)


# Courses ----------------------------------------------------------------------------------------
@router.post(
    "/patients/{patient_id}/courses",
    response={201: CourseOut, **ERRORS},
    summary="Open a course on a protocol version (starts as candidate)",
)
def course_open(request: HttpRequest, patient_id: uuid.UUID, payload: CourseOpenIn) -> Status[CourseOut]:
    patient = selectors.access_patient(user=principal_user(request), patient_id=patient_id)
    version = _protocol(payload.protocol_code, payload.protocol_version)
    course = services.course_open(actor=principal_actor(request), patient=patient, protocol_version=version)
    return Status(201, _course_out(course))


@router.get(
    "/courses/{course_id}",
    response={200: CourseOut, **ERRORS},
    summary="A course: its visits, consents, deviations and timeline",
)
def course_get(request: HttpRequest, course_id: uuid.UUID) -> CourseOut:
    return _course_out(selectors.access_course(user=principal_user(request), course_id=course_id))


@router.post(
    "/courses/{course_id}/transitions",
    response={200: CourseOut, **ERRORS},
    summary="Move a course along its state machine (illegal moves are refused)",
)
def course_transition(request: HttpRequest, course_id: uuid.UUID, payload: CourseTransitionIn) -> CourseOut:
    course = selectors.access_course(user=principal_user(request), course_id=course_id)
    course = services.course_transition(
        actor=principal_actor(request), course=course, to=payload.status, reason=payload.reason
    )
    return _course_out(course)


@router.post(
    "/courses/{course_id}/consents",
    response={201: ConsentOut, **ERRORS},
    summary="Record the patient's consent and countersign it (re-enter password and code)",
)
def consent_record(
    request: HttpRequest, course_id: uuid.UUID, payload: ConsentRecordIn
) -> Status[ConsentOut]:
    user = principal_user(request)
    course = selectors.access_course(user=user, course_id=course_id)
    try:
        document = selectors.access_consent_document(user=user, document_id=payload.document_id)
    except NotFound:
        raise field_error("document_id", "no such consent document at this site") from None
    record = services.consent_record(
        actor=principal_actor(request),
        course=course,
        document=document,
        patient_printed_name=payload.patient_printed_name,
        patient_signature_svg=payload.patient_signature_svg,
        password=payload.password,
        otp_code=payload.otp_code,
    )
    return Status(201, _consent_out(record))


@router.post(
    "/courses/{course_id}/enroll",
    response={200: CourseOut, **ERRORS},
    summary="Enroll a consented patient: freezes the protocol version and plans the visits",
)
def course_enroll(request: HttpRequest, course_id: uuid.UUID, payload: CourseEnrollIn) -> CourseOut:
    course = selectors.access_course(user=principal_user(request), course_id=course_id)
    course = services.course_enroll(
        actor=principal_actor(request), course=course, enrolled_on=payload.enrolled_on
    )
    return _course_out(course)


@router.post(
    "/consents/{consent_id}/withdraw",
    response={200: ConsentOut, **ERRORS},
    summary="Record the patient's withdrawal of consent (the course ends as withdrawn)",
)
def consent_withdraw(request: HttpRequest, consent_id: uuid.UUID, payload: ConsentWithdrawIn) -> ConsentOut:
    record = _access_consent(principal_user(request), consent_id)
    record = services.consent_withdraw(actor=principal_actor(request), record=record, reason=payload.reason)
    return _consent_out(record)


# Consent documents ------------------------------------------------------------------------------
@router.get(
    "/sites/{site_id}/consent-documents",
    response={200: list[ConsentDocumentOut], **ERRORS},
    summary="A site's consent documents, the one in use first",
)
def consent_document_list(request: HttpRequest, site_id: uuid.UUID) -> list[ConsentDocumentOut]:
    site = access_site(user=principal_user(request), site_id=site_id, roles=READ_ROLES)
    documents = selectors.consent_document_list(site=site)
    return [_document_out(d) for d in documents]


@router.post(
    "/sites/{site_id}/consent-documents",
    response={201: ConsentDocumentOut, **ERRORS},
    summary="Upload a consent document version (PDF; coordinator or site admin)",
)
def consent_document_upload(
    request: HttpRequest,
    site_id: uuid.UUID,
    file: File[UploadedFile],
    payload: Form[ConsentDocumentUploadIn],
) -> Status[ConsentDocumentOut]:
    site = access_site(user=principal_user(request), site_id=site_id)
    version = _protocol(payload.protocol_code, payload.protocol_version)
    # One byte past the limit is enough for the service to refuse an oversized file, without
    # reading all of it into memory.
    content = file.read(services.MAX_CONSENT_BYTES + 1)
    document = services.consent_document_upload(
        actor=principal_actor(request),
        site=site,
        protocol_version=version,
        version_label=payload.version_label,
        title=payload.title,
        content=content,
        filename=file.name or "consent.pdf",
    )
    return Status(201, _document_out(document))


@router.post(
    "/consent-documents/{document_id}/activate",
    response={200: ConsentDocumentOut, **ERRORS},
    summary="Make a consent document the one in use (patients on an earlier one must re-consent)",
)
def consent_document_activate(request: HttpRequest, document_id: uuid.UUID) -> ConsentDocumentOut:
    document = selectors.access_consent_document(user=principal_user(request), document_id=document_id)
    document = services.consent_document_activate(actor=principal_actor(request), document=document)
    return _document_out(document)


@router.get(
    "/consent-documents/{document_id}/file",
    response=ERRORS,
    summary="The consent document's PDF",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The PDF",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def consent_document_file(request: HttpRequest, document_id: uuid.UUID) -> FileResponse:
    document = selectors.access_consent_document(user=principal_user(request), document_id=document_id)
    return FileResponse(
        document.file.open("rb"),
        content_type="application/pdf",
        filename=f"{document.protocol_code}-{document.version_label}.pdf",
    )


# Visits -----------------------------------------------------------------------------------------
@router.post(
    "/visits/{visit_id}/occurrence",
    response={200: VisitOut, **ERRORS},
    summary="Record the day a visit took place (out of window: a deviation; later visits re-planned)",
)
def visit_record_occurrence(
    request: HttpRequest, visit_id: uuid.UUID, payload: VisitOccurrenceIn
) -> VisitOut:
    visit = selectors.access_visit(user=principal_user(request), visit_id=visit_id)
    visit = services.visit_record_occurrence(
        actor=principal_actor(request), visit=visit, occurred_on=payload.occurred_on
    )
    return _visit_out(visit)


@router.post(
    "/visits/{visit_id}/missed",
    response={200: VisitOut, **ERRORS},
    summary="Record a missed visit (a deviation; reason required)",
)
def visit_mark_missed(request: HttpRequest, visit_id: uuid.UUID, payload: VisitMissedIn) -> VisitOut:
    visit = selectors.access_visit(user=principal_user(request), visit_id=visit_id)
    visit = services.visit_mark_missed(actor=principal_actor(request), visit=visit, reason=payload.reason)
    return _visit_out(visit)


@router.get(
    "/visits/{visit_id}/note",
    response={200: NoteOut, **ERRORS},
    summary="A visit's note (never shown to blinded raters)",
)
def visit_note_get(request: HttpRequest, visit_id: uuid.UUID) -> NoteOut:
    user = principal_user(request)
    visit = selectors.access_visit(user=user, visit_id=visit_id)
    note = selectors.access_note(user=user, visit=visit)
    if note is None:
        raise NotFound("No note has been written for this visit yet.")
    return _note_out(note)


@router.put(
    "/visits/{visit_id}/note",
    response={200: NoteOut, **ERRORS},
    summary="Write or update the draft note of a visit",
)
def visit_note_save(request: HttpRequest, visit_id: uuid.UUID, payload: NoteSaveIn) -> NoteOut:
    visit = selectors.access_visit(user=principal_user(request), visit_id=visit_id)
    note = services.visit_note_save(
        actor=principal_actor(request),
        visit=visit,
        sections=payload.sections,
        free_text=payload.free_text,
        attendees=_attendees(visit, payload.attendee_ids),
        duration_minutes=payload.duration_minutes,
    )
    return _note_out(note)


@router.post(
    "/visits/{visit_id}/note/sign",
    response={200: NoteOut, **ERRORS},
    summary="Sign and lock the note (re-enter password and code); the visit is then completed",
)
def visit_note_sign(request: HttpRequest, visit_id: uuid.UUID, payload: NoteSignIn) -> NoteOut:
    visit = selectors.access_visit(user=principal_user(request), visit_id=visit_id)
    note = services.visit_note_sign(
        actor=principal_actor(request),
        note=_note_of(visit),
        password=payload.password,
        otp_code=payload.otp_code,
    )
    return _note_out(note)


@router.post(
    "/visits/{visit_id}/note/addenda",
    response={201: NoteOut, **ERRORS},
    summary="Add a signed, dated addendum to a signed note (re-enter password and code)",
)
def visit_note_addendum(
    request: HttpRequest, visit_id: uuid.UUID, payload: AddendumCreateIn
) -> Status[NoteOut]:
    visit = selectors.access_visit(user=principal_user(request), visit_id=visit_id)
    addendum = services.visit_note_addendum(
        actor=principal_actor(request),
        note=_note_of(visit),
        text=payload.text,
        password=payload.password,
        otp_code=payload.otp_code,
    )
    return Status(201, _note_out(addendum.note))
