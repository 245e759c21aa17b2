"""Loading protocol versions into the database, and freezing them at first enrollment."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import transaction

from haven.audit.context import Actor
from haven.audit.services import audit_create, audit_update, require_reason
from haven.core.time import now
from haven.protocols.diff import protocol_diff
from haven.protocols.errors import ProtocolFileInvalid, ProtocolFrozen
from haven.protocols.loader import ProtocolInvalid, parse_protocol
from haven.protocols.models import ProtocolVersion
from haven.protocols.schema import Protocol

PROTOCOL_FIELDS = ("code", "version", "title", "sha256", "source_name")


@dataclass(frozen=True)
class LoadResult:
    version: ProtocolVersion
    created: bool
    changes: list[str]  # clinical description of what changed, when an unfrozen version was replaced


def protocol_parse(*, text: str, source: str) -> Protocol:
    try:
        return parse_protocol(text, source=source)
    except ProtocolInvalid as invalid:
        raise ProtocolFileInvalid(invalid) from None


def protocol_load(*, actor: Actor, text: str, source: str, reason: str = "") -> LoadResult:
    """Load a protocol file: a new version, the same file again (no change), or a corrected draft.

    A version nobody is enrolled on yet may be replaced, with a reason. A frozen version never is:
    changing it needs a new version number.
    """
    protocol = protocol_parse(text=text, source=source)
    digest = hashlib.sha256(text.encode()).hexdigest()
    content = protocol.model_dump(mode="json")
    with transaction.atomic():
        existing = (
            ProtocolVersion.objects.select_for_update()
            .filter(code=protocol.code, version=protocol.version)
            .first()
        )
        if existing is None:
            version = ProtocolVersion.objects.create(
                code=protocol.code,
                version=protocol.version,
                title=protocol.title,
                content=content,
                source_text=text,
                source_name=source,
                sha256=digest,
                loaded_by=actor.user,
            )
            audit_create(actor=actor, instance=version, fields=PROTOCOL_FIELDS, site_id=None)
            return LoadResult(version=version, created=True, changes=[])
        if existing.sha256 == digest:
            return LoadResult(version=existing, created=False, changes=[])
        if existing.frozen:
            raise ProtocolFrozen(
                f"{protocol.code} {protocol.version} is frozen: patients are enrolled on it. "
                "Give the amendment a new version number.",
                fields={"version": ["frozen; use a new version for an amendment"]},
            )
        reason = require_reason(reason)
        changes = protocol_diff(Protocol.model_validate(existing.content), protocol)
        old_digest = existing.sha256
        existing.title, existing.content, existing.source_text = protocol.title, content, text
        existing.source_name, existing.sha256, existing.loaded_by = source, digest, actor.user
        existing.save()
        audit_update(
            actor=actor,
            instance=existing,
            changes={
                "sha256": {"old": old_digest, "new": digest},
                "content": {"old": None, "new": changes},
            },
            site_id=None,
            reason=reason,
        )
        return LoadResult(version=existing, created=False, changes=changes)


def protocol_freeze(*, actor: Actor, version: ProtocolVersion) -> ProtocolVersion:
    """Freeze ``version`` (at the first enrollment on it). Freezing twice changes nothing."""
    with transaction.atomic():
        version = ProtocolVersion.objects.select_for_update().get(pk=version.pk)
        if version.frozen_at is None:
            version.frozen_at = now()
            version.save(update_fields=["frozen_at", "updated_at"])
            audit_update(
                actor=actor,
                instance=version,
                changes={"frozen_at": {"old": None, "new": version.frozen_at}},
                site_id=None,
                reason="first patient enrolled on this version",
            )
    return version
