"""Signing a record (21 CFR 11.200): re-authenticate the signer, then record the signature.

A failed re-authentication counts towards the account lockout exactly like a failed login, so the
signing form cannot be used to guess passwords, and it is kept in the audit trail (11.300(d)).
"""

from __future__ import annotations

from django.conf import settings
from django_otp import devices_for_user

from haven.accounts.lockout import lockout_check, login_failure_record
from haven.accounts.models import User
from haven.audit.context import Actor
from haven.audit.errors import SignatureRefused
from haven.audit.models import Signature, SignatureMeaning
from haven.audit.signatures import Signable, signature_record


def _mfa_exempt(user: User) -> bool:
    # Demo accounts may sign without a second factor, but only in a demo (non-production) install;
    # production refuses to start while demo accounts exist.
    return user.is_demo and not settings.PRODUCTION


def _reauthentication_problem(user: User, password: str, otp_code: str) -> tuple[str, str] | None:
    """(field, problem) when re-authentication fails, else None."""
    if not user.is_active:
        return "password", "account is inactive"
    if not password or not user.check_password(password):
        return "password", "password is incorrect"
    devices = list(devices_for_user(user, confirmed=True))
    if not devices:
        return None if _mfa_exempt(user) else ("otp_code", "signing requires an enrolled authenticator (MFA)")
    code = (otp_code or "").strip()
    if not (code.isdigit() and any(device.verify_token(code) for device in devices)):
        return "otp_code", "authenticator code is incorrect"
    return None


def reauthenticate(*, actor: Actor, password: str, otp_code: str = "") -> User:
    """Check the signer's password and code; refuse (and count the failure) otherwise.

    Call it before opening the transaction that writes the signed record, so a refusal leaves
    nothing behind but its own audit entry.
    """
    user = actor.user
    if user is None:
        raise SignatureRefused("Only a person can sign.")
    lockout_check(user)
    problem = _reauthentication_problem(user, password, otp_code)
    if problem is not None:
        field, why = problem
        login_failure_record(actor, user, user.username, f"signature refused: {why}")
        raise SignatureRefused(f"Signature refused: {why}.", fields={field: [why]})
    return user


def sign(
    *, actor: Actor, record: Signable, meaning: SignatureMeaning | str, password: str, otp_code: str = ""
) -> Signature:
    """Sign ``record`` as ``actor.user`` after re-entering password and authenticator code."""
    reauthenticate(actor=actor, password=password, otp_code=otp_code)
    return signature_record(actor=actor, record=record, meaning=meaning)
