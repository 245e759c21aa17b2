"""Which roles may do what with patients. One place, so pages, API and services agree."""

from haven.accounts.models import Role

# Who may open the patient list, a chart and the schedule.
READ_ROLES = frozenset(
    {
        Role.THERAPIST,
        Role.PHYSICIAN,
        Role.COORDINATOR,
        Role.SITE_ADMIN,
        Role.BLINDED_RATER,
        Role.DATA_MANAGER,
        Role.SPONSOR_MONITOR,
        Role.AUDITOR,
    }
)
REGISTER_ROLES = frozenset({Role.COORDINATOR, Role.PHYSICIAN, Role.SITE_ADMIN})
# Identifying data (name, birth date, contact): the people who care for and contact the patient.
IDENTITY_ROLES = frozenset({Role.THERAPIST, Role.PHYSICIAN, Role.COORDINATOR, Role.SITE_ADMIN})
COURSE_ROLES = frozenset({Role.COORDINATOR, Role.PHYSICIAN, Role.SITE_ADMIN})
# Eligibility is a medical decision.
ELIGIBILITY_ROLES = frozenset({Role.PHYSICIAN})
CONSENT_ROLES = frozenset({Role.COORDINATOR, Role.PHYSICIAN})
VISIT_ROLES = frozenset({Role.COORDINATOR, Role.THERAPIST, Role.PHYSICIAN, Role.BLINDED_RATER})
NOTE_ROLES = frozenset({Role.THERAPIST, Role.PHYSICIAN, Role.COORDINATOR, Role.BLINDED_RATER})
# Therapy notes can reveal what happened in a session; blinded raters never read them.
NOTE_READ_ROLES = frozenset({Role.THERAPIST, Role.PHYSICIAN, Role.COORDINATOR, Role.SITE_ADMIN, Role.AUDITOR})
# Visits a blinded rater documents (and whose notes they may read).
RATER_VISIT_KINDS = frozenset({"assessment", "follow-up"})
