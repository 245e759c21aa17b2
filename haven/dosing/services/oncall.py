"""Who hears about it: the on-call rota, and notifications (a record, and an e-mail where possible)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.mail import send_mail
from django.db import transaction

from haven.accounts.models import Role, Site, User
from haven.accounts.selectors import roles_for
from haven.audit.context import Actor
from haven.audit.services import audit_create, audit_update
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from haven.core.models import BaseModel
from haven.core.time import now
from haven.dosing.models import Alert, Emergency, Notification, OnCallShift

ROTA_ROLES = frozenset({Role.COORDINATOR, Role.SITE_ADMIN, Role.PHYSICIAN})
LONGEST_SHIFT = timedelta(days=7)


def physicians_of(site: Site) -> list[User]:
    return list(
        User.objects.filter(is_active=True, memberships__site=site, memberships__role=Role.PHYSICIAN)
        .distinct()
        .order_by("pk")
    )


def on_call_physicians(site: Site, at: datetime) -> list[User]:
    """The physicians on call at ``at``. With no one on the rota then, every physician of the site:
    an escalation must reach someone, and an empty rota is a gap the clinic sees on its rota page."""
    on_call = [
        shift.physician
        for shift in OnCallShift.objects.filter(
            site=site, starts_at__lte=at, ends_at__gt=at, cancelled_at__isnull=True, physician__is_active=True
        ).select_related("physician")
        if Role.PHYSICIAN in roles_for(shift.physician, site)
    ]
    return list(dict.fromkeys(on_call)) or physicians_of(site)


def oncall_add(
    *, actor: Actor, site: Site, physician: User, starts_at: datetime, ends_at: datetime
) -> OnCallShift:
    user = actor.user
    if user is None or not roles_for(user, site) & ROTA_ROLES:
        raise PermissionDenied(
            "Keeping the on-call rota needs the coordinator, site admin or physician role."
        )
    problems: dict[str, list[str]] = {}
    if Role.PHYSICIAN not in roles_for(physician, site):
        problems["physician"] = [f"{physician.printed_name} is not a physician at this site"]
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        problems["starts_at"] = ["times need a time zone"]
    elif ends_at <= starts_at:
        problems["ends_at"] = ["must be after the start"]
    elif ends_at - starts_at > LONGEST_SHIFT:
        problems["ends_at"] = ["a shift lasts at most 7 days"]
    elif ends_at <= now():
        problems["ends_at"] = ["the shift is already over"]
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems)
    with transaction.atomic():
        overlapping = OnCallShift.objects.filter(
            site=site,
            physician=physician,
            cancelled_at__isnull=True,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        ).exists()
        if overlapping:
            raise Conflict(f"{physician.printed_name} is already on call during part of that time.")
        shift = OnCallShift.objects.create(
            site=site, physician=physician, starts_at=starts_at, ends_at=ends_at, created_by=user
        )
        audit_create(
            actor=actor, instance=shift, fields=("physician", "starts_at", "ends_at"), site_id=site.public_id
        )
    return shift


def oncall_cancel(*, actor: Actor, shift: OnCallShift, reason: str) -> OnCallShift:
    user = actor.user
    if user is None or not roles_for(user, shift.site) & ROTA_ROLES:
        raise PermissionDenied(
            "Keeping the on-call rota needs the coordinator, site admin or physician role."
        )
    if not reason.strip():
        raise field_error("reason", "say why the shift is cancelled")
    with transaction.atomic():
        shift = OnCallShift.objects.select_for_update().get(pk=shift.pk)
        if shift.cancelled_at is not None:
            raise Conflict("This shift is already cancelled.")
        shift.cancelled_at = now()
        shift.save(update_fields=["cancelled_at", "updated_at"])
        audit_update(
            actor=actor,
            instance=shift,
            changes={"cancelled_at": {"old": None, "new": shift.cancelled_at}},
            site_id=shift.site.public_id,
            reason=reason.strip(),
        )
    return shift


def notify(
    *,
    actor: Actor,
    site: Site,
    recipients: Iterable[User],
    subject: str,
    body: str,
    alert: Alert | None = None,
    emergency: Emergency | None = None,
    about: BaseModel | None = None,
) -> list[Notification]:
    """A notification record for each recipient, and an e-mail to those with an address.

    Call inside the caller's transaction: if an e-mail cannot be sent, nothing is recorded as
    sent, and the caller's change rolls back with it (the monitor then tries again).
    """
    sent = []
    for recipient in dict.fromkeys(recipients):
        notification = Notification.objects.create(
            recipient=recipient,
            alert=alert,
            emergency=emergency,
            about_type=about.record_type() if about is not None else "",
            about_id=str(about.public_id) if about is not None else "",
            subject=subject,
            body=body,
        )
        if recipient.email:
            send_mail(subject, body, None, [recipient.email])
            notification.emailed = True
            Notification.objects.filter(pk=notification.pk).update(emailed=True)
        audit_create(
            actor=actor,
            instance=notification,
            fields=("recipient", "subject", "emailed"),
            site_id=site.public_id,
        )
        sent.append(notification)
    return sent
