"""Writes for patients: registration, identity, the enrollment course, consent, visits and notes.

Each service checks the actor's role at the patient's site, validates (naming the field), changes,
and audits, in one transaction. Clinical logic lives here, never in views, forms or models.
"""

from haven.patients.services.common import IDENTITY_FIELDS, MAX_CONSENT_BYTES, PATIENT_FIELDS, SIGNATURE_PATH
from haven.patients.services.course import (
    _BY_SERVICE,
    _NEEDS_REASON,
    OFF_STUDY,
    ON_STUDY,
    TRANSITIONS,
    course_open,
    course_transition,
)
from haven.patients.services.enrollment import (
    consent_current,
    consent_current_document,
    consent_document_activate,
    consent_document_upload,
    consent_record,
    consent_withdraw,
    course_enroll,
)
from haven.patients.services.notes import visit_note_addendum, visit_note_save, visit_note_sign
from haven.patients.services.registry import patient_identity_update, patient_identity_view, patient_register
from haven.patients.services.schedule import visit_mark_missed, visit_record_occurrence

__all__ = [
    "IDENTITY_FIELDS",
    "MAX_CONSENT_BYTES",
    "OFF_STUDY",
    "ON_STUDY",
    "PATIENT_FIELDS",
    "SIGNATURE_PATH",
    "TRANSITIONS",
    "_BY_SERVICE",
    "_NEEDS_REASON",
    "consent_current",
    "consent_current_document",
    "consent_document_activate",
    "consent_document_upload",
    "consent_record",
    "consent_withdraw",
    "course_enroll",
    "course_open",
    "course_transition",
    "patient_identity_update",
    "patient_identity_view",
    "patient_register",
    "visit_mark_missed",
    "visit_note_addendum",
    "visit_note_save",
    "visit_note_sign",
    "visit_record_occurrence",
]
