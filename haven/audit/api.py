"""Audit trail API: a site's entries, for the roles that review them."""

from __future__ import annotations

import uuid

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from haven.accounts.auth import principal_user, user_auth
from haven.accounts.models import AUDIT_READER_ROLES
from haven.accounts.selectors import access_site, site_member_ids
from haven.audit.models import AuditAction
from haven.audit.schemas import AuditPageOut
from haven.audit.selectors import audit_entry_list
from haven.core.schemas import ERRORS

router = Router(auth=user_auth, tags=["audit"])


class AuditFilter(Schema):
    record_type: str | None = None
    record_id: str | None = None
    action: AuditAction | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0)


@router.get(
    "/sites/{site_id}/entries",
    response={200: AuditPageOut, **ERRORS},
    summary="A site's audit trail, newest first (auditor, site admin, data manager, sponsor monitor)",
)
def audit_entry_list_api(
    request: HttpRequest, site_id: uuid.UUID, filters: Query[AuditFilter]
) -> AuditPageOut:
    site = access_site(user=principal_user(request), site_id=site_id, roles=AUDIT_READER_ROLES)
    entries = audit_entry_list(
        site_id=site.public_id,
        member_user_ids=site_member_ids(site=site),
        record_type=filters.record_type,
        record_id=filters.record_id,
        action=filters.action.value if filters.action else None,
    )
    page = list(entries[filters.offset : filters.offset + filters.limit])
    return AuditPageOut(count=entries.count(), entries=page)  # type: ignore[arg-type]
