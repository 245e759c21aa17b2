"""Protocols API: the loaded protocol versions and their visit plans (read-only).

Protocols are not site data: every signed-in person may read them. Loading and amending happen
through the ``protocol_load`` command, which keeps the file text and audits every change.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from haven.accounts.auth import user_auth
from haven.core.schemas import ERRORS
from haven.protocols import selectors
from haven.protocols.models import ProtocolVersion
from haven.protocols.schemas import (
    PhaseOut,
    ProtocolVersionDetailOut,
    ProtocolVersionOut,
    ProtocolVisitOut,
    RepeatOut,
    StaffNeedOut,
)

router = Router(auth=user_auth, tags=["protocols"])


def _version_out(version: ProtocolVersion) -> ProtocolVersionOut:
    return ProtocolVersionOut(
        code=version.code,
        version=version.version,
        title=version.title,
        frozen=version.frozen,
        frozen_at=version.frozen_at,
    )


@router.get("", response={200: list[ProtocolVersionOut], **ERRORS}, summary="Loaded protocol versions")
def protocol_version_list(request: HttpRequest) -> list[ProtocolVersionOut]:
    return [_version_out(v) for v in selectors.protocol_version_list()]


@router.get(
    "/{code}/{version}",
    response={200: ProtocolVersionDetailOut, **ERRORS},
    summary="One protocol version: its phases, visit plan, dosing and monitoring rules",
)
def protocol_version_get(request: HttpRequest, code: str, version: str) -> ProtocolVersionDetailOut:
    row = selectors.protocol_version_get(code=code, version=version)
    protocol = selectors.protocol_of(row)
    return ProtocolVersionDetailOut(
        **_version_out(row).model_dump(),
        summary=protocol.summary,
        sources=list(protocol.sources),
        source_name=row.source_name,
        sha256=row.sha256,
        phases=[PhaseOut(code=p.code, name=p.name) for p in protocol.phases],
        visits=[
            ProtocolVisitOut(
                code=v.code,
                name=v.name,
                kind=v.kind.value,
                phase=v.phase,
                anchor=v.target.anchor,
                days=v.target.days,
                window_before=v.window.before,
                window_after=v.window.after,
                duration_minutes=v.duration_minutes,
                repeat=RepeatOut(count=v.repeat.count, every_days=v.repeat.every_days) if v.repeat else None,
                overnight=v.overnight,
                staff=[StaffNeedOut(role=s.role.value, count=s.count, lead=s.lead) for s in v.staff],
                note_template=list(v.note_template),
            )
            for v in protocol.visits
        ],
        dosing=protocol.dosing.model_dump(mode="json") if protocol.dosing else None,
        monitoring=protocol.monitoring.model_dump(mode="json") if protocol.monitoring else None,
    )
