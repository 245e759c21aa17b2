"""Reading the audit trail. Access checks live with the callers (``haven.accounts`` knows roles)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from haven.audit.models import AuditEntry


def audit_entry_list(
    *,
    site_id: uuid.UUID,
    member_user_ids: Iterable[int],
    record_type: str | None = None,
    record_id: str | None = None,
    action: str | None = None,
) -> QuerySet[AuditEntry]:
    """Entries of one site, plus the site's staff's own events that belong to no site (logins)."""
    entries = AuditEntry.objects.filter(
        Q(site_id=site_id) | Q(site_id__isnull=True, actor_user_id__in=member_user_ids)
    )
    if record_type:
        entries = entries.filter(record_type=record_type)
    if record_id:
        entries = entries.filter(record_id=record_id)
    if action:
        entries = entries.filter(action=action)
    return entries.order_by("-seq")


def audit_entries_for_record(*, record_type: str, record_id: str) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(record_type=record_type, record_id=record_id).order_by("seq")


def audit_entries_for_user(*, user_id: int) -> QuerySet[AuditEntry]:
    """What the user did, and what was done to their account (logins, lockouts)."""
    return AuditEntry.objects.filter(Q(actor_user_id=user_id)).order_by("-seq")
