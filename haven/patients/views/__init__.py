"""Patient pages: the list, registration, the chart, consent, consent documents and visits.

Every row is loaded through an ``access_*`` selector (another site's row is "not found"); every
change goes through a service, whose ``DomainError`` is shown next to the field it names. Role
checks here only decide what to *offer*; the services decide what is allowed.
"""

from haven.patients.views.chart import (
    course_enroll,
    course_open,
    course_transition,
    patient_chart,
    patient_identity,
)
from haven.patients.views.consent import (
    consent,
    consent_document_activate,
    consent_document_file,
    consent_documents,
)
from haven.patients.views.registry import patient_list, patient_register
from haven.patients.views.visits import (
    note_addendum,
    note_save,
    note_sign,
    visit_detail,
    visit_missed,
    visit_occurrence,
)

__all__ = [
    "consent",
    "consent_document_activate",
    "consent_document_file",
    "consent_documents",
    "course_enroll",
    "course_open",
    "course_transition",
    "note_addendum",
    "note_save",
    "note_sign",
    "patient_chart",
    "patient_identity",
    "patient_list",
    "patient_register",
    "visit_detail",
    "visit_missed",
    "visit_occurrence",
]
