"""Helpers shared by the patient services: role checks and text fields."""

from __future__ import annotations

import re
from collections.abc import Iterable

from haven.accounts.models import Role, Site, User
from haven.accounts.selectors import roles_for
from haven.audit.context import Actor
from haven.core.errors import PermissionDenied, field_error

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
