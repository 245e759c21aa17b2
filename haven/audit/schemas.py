from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ninja import Schema


class AuditEntryOut(Schema):
    seq: int
    occurred_at: datetime
    action: str
    actor_name: str
    actor_roles: str
    token_id: uuid.UUID | None
    ip: str | None
    user_agent: str
    site_id: uuid.UUID | None
    record_type: str
    record_id: str
    changes: dict[str, Any]
    reason: str
    hash: str
    prev_hash: str


class AuditPageOut(Schema):
    count: int
    entries: list[AuditEntryOut]
