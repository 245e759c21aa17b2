"""Electronic signatures (21 CFR 11.50, 11.70, 11.200).

Signing (``haven.accounts.signing.sign``) re-authenticates the signer with password and TOTP code,
then records here the printed name, time and meaning, and a hash over the record's type, id and
signed content. Because the hash covers the record's identity, a signature cannot be moved to another
record; because it covers the content, a later change shows the signature as invalidated.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import transaction

from haven.audit.canonical import sha256_hex
from haven.audit.context import Actor
from haven.audit.errors import SignatureRefused
from haven.audit.models import AuditAction, Signature, SignatureMeaning
from haven.audit.services import audit_record
from haven.core.time import now


class Signable(Protocol):
    """What a model offers to be signed: its identity and the content a signature vouches for."""

    public_id: uuid.UUID

    @classmethod
    def record_type(cls) -> str: ...

    def signed_content(self) -> dict[str, Any]: ...

    def signing_site_id(self) -> uuid.UUID | None: ...


def content_hash(record: Signable) -> str:
    return sha256_hex(
        {
            "record_type": record.record_type(),
            "record_id": str(record.public_id),
            "content": record.signed_content(),
        }
    )


def signature_record(*, actor: Actor, record: Signable, meaning: SignatureMeaning | str) -> Signature:
    """Write the signature and its audit entry.

    Only ``haven.accounts.signing.sign`` calls this, after re-authenticating the signer; callers
    check first that the signer's role may sign the record.
    """
    user = actor.user
    if user is None:
        raise SignatureRefused("Only a person can sign.")
    meaning = SignatureMeaning(meaning)
    site_id = record.signing_site_id()
    with transaction.atomic():
        signed_at = now()
        digest = content_hash(record)
        entry = audit_record(
            actor=actor,
            action=AuditAction.SIGN,
            record_type=record.record_type(),
            record_id=record.public_id,
            site_id=site_id,
            changes={
                "meaning": {"old": None, "new": meaning.value},
                "content_hash": {"old": None, "new": digest},
            },
        )
        return Signature.objects.create(
            signer=user,
            printed_name=actor.printed_name,
            signer_roles=", ".join(actor.roles_at(site_id)),
            meaning=meaning.value,
            signed_at=signed_at,
            record_type=record.record_type(),
            record_id=str(record.public_id),
            site_id=site_id,
            content_hash=digest,
            audit_entry=entry,
        )


@dataclass(frozen=True)
class SignatureView:
    signature: Signature
    valid: bool

    @property
    def status(self) -> str:
        return "valid" if self.valid else "invalidated"


def signatures_for_many(records: Sequence[Signable]) -> dict[uuid.UUID, list[SignatureView]]:
    """Signatures of many records of one kind, in one query, each marked valid or invalidated."""
    if not records:
        return {}
    record_type = records[0].record_type()
    current = {str(r.public_id): content_hash(r) for r in records}
    result: dict[uuid.UUID, list[SignatureView]] = {r.public_id: [] for r in records}
    signatures = Signature.objects.filter(
        record_type=record_type, record_id__in=list(current)
    ).select_related("signer")
    for s in signatures.order_by("signed_at"):
        view = SignatureView(signature=s, valid=s.content_hash == current[s.record_id])
        result[uuid.UUID(s.record_id)].append(view)
    return result


def signatures_for(record: Signable) -> list[SignatureView]:
    """Every signature on ``record``, each marked valid or invalidated against its current content."""
    return signatures_for_many([record])[record.public_id]
