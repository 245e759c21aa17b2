"""Screening pages: the record in sections with the eligibility panel, overrides, the evaluation
history and the printable eligibility summary.

Every course is loaded through ``access_course`` (another site's course is "not found"); every
change goes through a service, whose ``DomainError`` is shown next to the field it names.
"""

from haven.screening.views.eligibility import (
    eligibility_history,
    eligibility_override,
    eligibility_summary,
)
from haven.screening.views.record import entry_error, screening_page, section_add, section_complete

__all__ = [
    "eligibility_history",
    "eligibility_override",
    "eligibility_summary",
    "entry_error",
    "screening_page",
    "section_add",
    "section_complete",
]
