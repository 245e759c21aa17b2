"""Which roles may do what with safety data. Blinded raters have none: adverse events reveal the arm."""

from haven.accounts.models import Role
from haven.dosing.selectors import SESSION_READ_ROLES

READ_ROLES = SESSION_READ_ROLES
# Who records and edits adverse events and checklists: the clinical staff who see the patient.
RECORD_ROLES = frozenset({Role.THERAPIST, Role.PHYSICIAN, Role.COORDINATOR})
# MedDRA coding is a data-management step.
CODING_ROLES = frozenset({Role.DATA_MANAGER})
# Reports and causality assessments are medical: the investigator or the medical monitor.
MEDICAL_ROLES = frozenset({Role.PHYSICIAN})
EXPORT_ROLES = frozenset(
    {Role.PHYSICIAN, Role.DATA_MANAGER, Role.SPONSOR_MONITOR, Role.AUDITOR, Role.SITE_ADMIN}
)
