"""Writing the audit trail. Every write in Haven ends here, inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from haven.audit.canonical import GENESIS_HASH, jsonable, sha256_hex
from haven.audit.context import Actor
from haven.audit.errors import ChainBroken, ReasonRequired
from haven.audit.models import AuditAction, AuditChainHead, AuditEntry
from haven.core.time import now

_HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "action",
    "actor_user_id",
    "actor_name",
    "actor_roles",
    "token_id",
    "ip",
    "user_agent",
    "site_id",
    "record_type",
    "record_id",
    "changes",
    "reason",
    "prev_hash",
)


def entry_hash(entry: AuditEntry) -> str:
    """The hash of an entry: SHA-256 over the canonical JSON of every field but ``hash``."""
    return sha256_hex({name: getattr(entry, name) for name in _HASHED_FIELDS})


def require_reason(reason: str) -> str:
    """Services that change or delete saved records call this before they change anything."""
    if not reason or not reason.strip():
        raise ReasonRequired()
    return reason.strip()


def audit_record(
    *,
    actor: Actor,
    action: AuditAction | str,
    record_type: str,
    record_id: str | uuid.UUID,
    site_id: uuid.UUID | None = None,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    """Append one entry to the chain; must run inside the caller's transaction."""
    action = AuditAction(action)
    if action in (AuditAction.UPDATE, AuditAction.DELETE):
        reason = require_reason(reason)
    with transaction.atomic():
        # The head row is made by migration 0002; get_or_create only matters after a test flush.
        # Should it ever vanish from a live chain, the new entry's seq 1 collides and the write fails.
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"last_seq": 0, "last_hash": GENESIS_HASH}
        )
        entry = AuditEntry(
            seq=head.last_seq + 1,
            occurred_at=now(),
            action=action.value,
            actor_user=actor.user,
            actor_name=actor.printed_name[:200],
            actor_roles=", ".join(actor.roles_at(site_id))[:300],
            token_id=actor.token_id,
            ip=actor.ip,
            user_agent=actor.user_agent[:512],
            site_id=site_id,
            record_type=record_type,
            record_id=str(record_id),
            changes=jsonable(dict(changes or {})),
            reason=reason.strip(),
            prev_hash=head.last_hash,
        )
        entry.hash = entry_hash(entry)
        entry.save(force_insert=True)
        head.last_seq = entry.seq
        head.last_hash = entry.hash
        head.save(update_fields=["last_seq", "last_hash"])
    return entry


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The audited values of ``fields`` on ``instance`` (foreign keys by public id where they have one)."""
    values: dict[str, Any] = {}
    for name in fields:
        value = getattr(instance, name)
        if isinstance(value, models.Model):
            value = getattr(value, "public_id", value.pk)
        values[name] = jsonable(value)
    return values


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """field → {old, new} for every field whose value changed."""
    return {
        name: {"old": before.get(name), "new": after.get(name)}
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def created(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {"old": None, "new": value} for name, value in values.items()}


def deleted(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {"old": value, "new": None} for name, value in values.items()}


def _identity(instance: models.Model) -> tuple[str, str]:
    return instance._meta.label_lower, str(getattr(instance, "public_id", instance.pk))


def audit_create(
    *, actor: Actor, instance: models.Model, fields: Iterable[str], site_id: uuid.UUID | None
) -> AuditEntry:
    """Record that ``instance`` was created, with the new value of each of ``fields``."""
    record_type, record_id = _identity(instance)
    return audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        record_type=record_type,
        record_id=record_id,
        site_id=site_id,
        changes=created(snapshot(instance, fields)),
    )


def audit_update(
    *,
    actor: Actor,
    instance: models.Model,
    changes: Mapping[str, Any],
    site_id: uuid.UUID | None,
    reason: str,
) -> AuditEntry:
    """Record a change (``diff`` of two snapshots) to ``instance``, with its reason."""
    record_type, record_id = _identity(instance)
    return audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        record_type=record_type,
        record_id=record_id,
        site_id=site_id,
        changes=changes,
        reason=reason,
    )


def audit_delete(
    *, actor: Actor, instance: models.Model, fields: Iterable[str], site_id: uuid.UUID | None, reason: str
) -> AuditEntry:
    """Record the deletion of ``instance`` with its last values; call it before deleting the row."""
    record_type, record_id = _identity(instance)
    return audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        record_type=record_type,
        record_id=record_id,
        site_id=site_id,
        changes=deleted(snapshot(instance, fields)),
        reason=reason,
    )


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    last_seq: int
    last_hash: str


def audit_verify(*, chunk_size: int = 2000) -> VerifyResult:
    """Recompute the chain from the first entry; raise ``ChainBroken`` at the first broken one."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if entry.seq != expected_seq:
            raise ChainBroken(expected_seq, f"missing; the next entry found is #{entry.seq}")
        if entry.prev_hash != expected_prev:
            raise ChainBroken(entry.seq, "does not follow the entry before it (entry removed or altered)")
        if entry_hash(entry) != entry.hash:
            raise ChainBroken(entry.seq, "content does not match its hash (edited after it was written)")
        expected_prev = entry.hash
        expected_seq += 1
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead(last_seq=0, last_hash=GENESIS_HASH)
    if head.last_seq != checked or head.last_hash != expected_prev:
        raise ChainBroken(
            checked + 1 if head.last_seq > checked else head.last_seq,
            f"the chain ends at #{checked} but its head records #{head.last_seq} (newest entries removed)",
        )
    return VerifyResult(checked=checked, last_seq=checked, last_hash=expected_prev)
