"""The audit trail page of a site, and its CSV export (itself audited)."""

from __future__ import annotations

import csv
import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from haven.accounts.actors import actor_for
from haven.accounts.models import AUDIT_READER_ROLES, User
from haven.accounts.selectors import access_site, site_member_ids
from haven.audit.models import AuditAction
from haven.audit.selectors import audit_entry_list
from haven.audit.services import audit_record

CSV_COLUMNS = (
    "seq",
    "occurred_at",
    "action",
    "actor_name",
    "actor_roles",
    "token_id",
    "ip",
    "user_agent",
    "record_type",
    "record_id",
    "changes",
    "reason",
    "prev_hash",
    "hash",
)


@login_required
def site_audit(request: HttpRequest, site_id: str) -> HttpResponse:
    assert isinstance(request.user, User)
    site = access_site(user=request.user, site_id=site_id, roles=AUDIT_READER_ROLES)
    action = request.GET.get("action") or None
    if action not in AuditAction.values:
        action = None
    entries = audit_entry_list(
        site_id=site.public_id, member_user_ids=site_member_ids(site=site), action=action
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/site_audit.html",
        {"site": site, "page": page, "actions": AuditAction.choices, "action": action},
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def site_audit_csv(request: HttpRequest, site_id: str) -> StreamingHttpResponse:
    assert isinstance(request.user, User)
    site = access_site(user=request.user, site_id=site_id, roles=AUDIT_READER_ROLES)
    entries = audit_entry_list(site_id=site.public_id, member_user_ids=site_member_ids(site=site)).order_by(
        "seq"
    )
    with transaction.atomic():
        audit_record(
            actor=actor_for(request),
            action=AuditAction.EXPORT,
            record_type="audit.auditentry",
            record_id=site.public_id,
            site_id=site.public_id,
            changes={"export": {"old": None, "new": f"audit trail CSV, {entries.count()} entries"}},
        )
    writer = csv.writer(_Echo())

    def rows() -> object:
        yield writer.writerow(CSV_COLUMNS)
        for entry in entries.iterator(chunk_size=1000):
            values = [getattr(entry, c) for c in CSV_COLUMNS]
            values[CSV_COLUMNS.index("changes")] = json.dumps(
                entry.changes, sort_keys=True, ensure_ascii=False
            )
            yield writer.writerow(values)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")  # type: ignore[arg-type]
    response["Content-Disposition"] = f'attachment; filename="haven-audit-{site.public_id}.csv"'
    return response
