"""Electronic signatures (21 CFR 11.50, 11.70, 11.200).

Signing re-authenticates the signer (password, and a TOTP code where the signer has enrolled one),
records printed name, time and meaning, and stores a hash over the record's type, id and signed
content. Because the hash covers the record's identity, a signature cannot be moved to another
record; because it covers the content, a later change shows the signature as invalidated.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user

from haven.audit.canonical import sha256_hex
from haven.audit.context import Actor
from haven.audit.errors import SignatureRefused
from haven.audit.models import AuditAction, Signature, SignatureMeaning
from haven.audit.services import audit_record
from haven.core.time import now

if TYPE_CHECKING:
    from haven.accounts.models import User


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


def _mfa_exempt(user: User) -> bool:
    # Demo accounts may sign without a second factor, but only in a demo (non-production) install;
    # production refuses to start while demo accounts exist.
    return bool(getattr(user, "is_demo", False)) and not settings.PRODUCTION


def _check_credentials(user: User, password: str, otp_code: str) -> str | None:
    """Return why re-authentication failed, or None when it succeeded."""
    if not user.is_active:
        return "account is inactive"
    if not password or not user.check_password(password):
        return "password is incorrect"
    devices = list(devices_for_user(user, confirmed=True))
    if not devices:
        return None if _mfa_exempt(user) else "signing requires an enrolled authenticator (MFA)"
    if not otp_code or not any(device.verify_token(otp_code.strip()) for device in devices):
        return "authenticator code is incorrect"
    return None


def signature_sign(
    *,
    actor: Actor,
    record: Signable,
    meaning: SignatureMeaning | str,
    password: str,
    otp_code: str = "",
) -> Signature:
    """Sign ``record`` as ``actor.user``. Callers check first that the signer's role may sign it."""
    user = actor.user
    if user is None:
        raise SignatureRefused("Only a person can sign.")
    meaning = SignatureMeaning(meaning)
    site_id = record.signing_site_id()
    problem = _check_credentials(user, password, otp_code)
    if problem is not None:
        # The failed attempt is kept (11.300(d)): it is written in its own transaction so the
        # refusal below cannot roll it back.
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.LOGIN_FAILED,
                record_type=record.record_type(),
                record_id=record.public_id,
                site_id=site_id,
                changes={"signature": {"old": None, "new": f"refused: {problem}"}},
            )
        field = "otp_code" if "authenticator" in problem else "password"
        raise SignatureRefused(f"Signature refused: {problem}.", fields={field: [problem]})
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


def signatures_for(record: Signable) -> list[SignatureView]:
    """Every signature on ``record``, each marked valid or invalidated against its current content."""
    current = content_hash(record)
    signatures = Signature.objects.filter(
        record_type=record.record_type(), record_id=str(record.public_id)
    ).select_related("signer")
    return [SignatureView(signature=s, valid=s.content_hash == current) for s in signatures]
