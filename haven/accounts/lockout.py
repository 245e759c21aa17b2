"""Counting failed logins and locking the account (shared by login and e-signature)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from haven.accounts.errors import AccountLocked
from haven.accounts.models import User
from haven.audit.context import Actor
from haven.audit.models import AuditAction
from haven.audit.services import audit_record
from haven.core.time import now


def login_failure_record(actor: Actor, user: User | None, login: str, why: str) -> None:
    """Count a failed attempt, lock the account at the threshold, and audit both."""
    with transaction.atomic():
        if user is None:
            audit_record(
                actor=actor,
                action=AuditAction.LOGIN_FAILED,
                record_type="accounts.user",
                record_id="unknown",
                changes={"login": {"old": None, "new": login[:150]}, "why": {"old": None, "new": why}},
            )
            return
        user = User.objects.select_for_update().get(pk=user.pk)
        user.failed_login_count += 1
        audit_record(
            actor=actor,
            action=AuditAction.LOGIN_FAILED,
            record_type="accounts.user",
            record_id=user.public_id,
            changes={
                "why": {"old": None, "new": why},
                "failed_login_count": {"old": None, "new": user.failed_login_count},
            },
        )
        if user.failed_login_count >= settings.HAVEN_LOCKOUT_THRESHOLD:
            user.locked_until = now() + settings.HAVEN_LOCKOUT_DURATION
            user.failed_login_count = 0
            audit_record(
                actor=actor,
                action=AuditAction.LOCKOUT,
                record_type="accounts.user",
                record_id=user.public_id,
                changes={"locked_until": {"old": None, "new": user.locked_until}},
            )
        user.save(update_fields=["failed_login_count", "locked_until"])


def lockout_check(user: User) -> None:
    if user.locked_until is not None and user.locked_until > now():
        minutes = max(1, int((user.locked_until - now()).total_seconds() // 60) + 1)
        raise AccountLocked(
            f"This account is locked after repeated failed logins; try again in {minutes} minutes "
            "or ask a site administrator.",
        )
