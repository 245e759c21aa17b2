"""Booking visits: rooms, staff, windows, licences and dosing spacing, race-safe.

``appointment_check`` lists every conflict without saving, so a page can show them before the
coordinator commits; ``appointment_book`` runs the same checks under row locks (the room and each
person, always in the same order) and refuses if any remain, so two requests racing for the same
room or person can never both succeed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q

from haven.accounts.models import CredentialKind, Role, Site, StaffCredential, User
from haven.accounts.selectors import roles_for
from haven.audit.context import Actor
from haven.audit.services import audit_create, audit_update, require_reason
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from haven.core.time import now
from haven.patients.models import Visit, VisitStatus
from haven.protocols.selectors import protocol_of
from haven.scheduling.models import (
    Appointment,
    AppointmentStaff,
    AppointmentStatus,
    CalendarFeedToken,
    Room,
    RoomKind,
)

BOOKING_ROLES = frozenset({Role.COORDINATOR, Role.SITE_ADMIN, Role.PHYSICIAN})
FEED_PREFIX = "hvc_"


@dataclass(frozen=True)
class StaffPick:
    user: User
    role: Role
    is_lead: bool = False


@dataclass
class BookingCheck:
    """What stands in the way of a booking: ``problems`` refuse it, ``warnings`` only inform."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.problems.setdefault(where, []).append(message)

    @property
    def ok(self) -> bool:
        return not self.problems


def _require_booker(actor: Actor, site: Site) -> User:
    user = actor.user
    if user is None or not roles_for(user, site) & BOOKING_ROLES:
        raise PermissionDenied("Booking needs the coordinator, physician or site administrator role.")
    return user


def room_create(*, actor: Actor, site: Site, name: str, kind: str) -> Room:
    user = actor.user
    if user is None or Role.SITE_ADMIN not in roles_for(user, site):
        raise PermissionDenied("Only a site administrator adds rooms.")
    name = (name or "").strip()
    if not name:
        raise field_error("name", "is required")
    if kind not in RoomKind.values:
        raise field_error("kind", f"must be one of {', '.join(RoomKind.values)}")
    if Room.objects.filter(site=site, name__iexact=name).exists():
        raise field_error("name", "this site already has a room with this name", code="conflict")
    with transaction.atomic():
        room = Room.objects.create(site=site, name=name, kind=kind)
        audit_create(actor=actor, instance=room, fields=("name", "kind"), site_id=site.public_id)
    return room


def licence_valid_on(user: User, site: Site, day: date) -> bool:
    return StaffCredential.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=day),
        user=user,
        site=site,
        kind=CredentialKind.LICENCE,
        valid_from__lte=day,
    ).exists()


def _overlapping(starts_at: datetime, ends_at: datetime, exclude: int | None) -> Q:
    q = Q(status=AppointmentStatus.BOOKED, starts_at__lt=ends_at, ends_at__gt=starts_at)
    return q & ~Q(pk=exclude) if exclude else q


def appointment_check(
    *,
    visit: Visit,
    room: Room | None,
    starts_at: datetime,
    ends_at: datetime,
    staff: Sequence[StaffPick],
    exclude: int | None = None,
) -> BookingCheck:
    """Every reason the booking cannot be made (and what merely deserves a look), saving nothing."""
    check = BookingCheck()
    course = visit.course
    site = course.site
    local_day = starts_at.astimezone(ZoneInfo(site.time_zone)).date()
    if ends_at <= starts_at:
        check.add("ends_at", "must be after the start")
    if starts_at < now():
        check.add("starts_at", "is in the past")
    if visit.status != VisitStatus.PLANNED:
        check.add("visit", f"is already {visit.get_status_display().lower()}")
    if room is not None and (room.site_id != site.pk or not room.is_active):
        check.add("room", "is not an active room of this site")
    if room is None and visit.kind != "phone-check-in":
        check.add("room", "is required for a visit in person")
    if not visit.window_earliest <= local_day <= visit.window_latest:
        check.warnings.append(
            f"{local_day:%Y-%m-%d} is outside the visit's window "
            f"({visit.window_earliest:%Y-%m-%d} to {visit.window_latest:%Y-%m-%d}); a reason is needed"
        )
    overlapping = Appointment.objects.filter(_overlapping(starts_at, ends_at, exclude))
    tz = ZoneInfo(site.time_zone)

    def span(appointment: Appointment) -> str:
        """The clashing booking's times as the site reads them."""
        return f"{appointment.starts_at.astimezone(tz):%H:%M}–{appointment.ends_at.astimezone(tz):%H:%M}"

    if room is not None:
        clash = overlapping.filter(room=room).select_related("visit__course__patient").first()
        if clash is not None:
            check.add("room", f"{room.name} is booked {span(clash)} ({clash.visit.course.patient})")
    seen: set[int] = set()
    for pick in staff:
        if pick.user.pk in seen:
            check.add("staff", f"{pick.user.printed_name} is chosen twice")
        seen.add(pick.user.pk)
    members: dict[int, set[str]] = {}
    for user_id, role in site.memberships.values_list("user_id", "role"):
        members.setdefault(user_id, set()).add(role)
    for pick in staff:
        if pick.role not in members.get(pick.user.pk, set()):
            check.add("staff", f"{pick.user.printed_name} does not hold the {pick.role.label} role here")
        busy = overlapping.filter(staff__user=pick.user).first()
        if busy is not None:
            check.add("staff", f"{pick.user.printed_name} is booked {span(busy)}")
    definition = protocol_of(course.protocol_version).visit(visit.definition_code)
    for need in definition.staff:
        picked = [p for p in staff if p.role.value == need.role.value]
        if len(picked) < need.count:
            check.add("staff", f"this visit needs {need.count} {need.role.value}(s); {len(picked)} chosen")
        if need.lead and sum(p.is_lead for p in picked) < need.lead:
            check.add("staff", f"one {need.role.value} must be the lead")
    if visit.kind == "dosing":
        for pick in staff:
            if pick.role == Role.THERAPIST and not licence_valid_on(pick.user, site, local_day):
                check.add("staff", f"{pick.user.printed_name} has no licence valid on {local_day:%Y-%m-%d}")
        _check_spacing(check, visit, local_day, exclude)
    return check


def _check_spacing(check: BookingCheck, visit: Visit, day: date, exclude: int | None) -> None:
    dosing = protocol_of(visit.course.protocol_version).dosing
    if dosing is None or dosing.min_days_between_sessions == 0:
        return
    gap = dosing.min_days_between_sessions
    others: list[date] = [
        v.occurred_on
        for v in Visit.objects.filter(course=visit.course, kind="dosing", occurred_on__isnull=False)
        if v.occurred_on
    ]
    tz = ZoneInfo(visit.course.site.time_zone)
    booked = Appointment.objects.filter(
        visit__course=visit.course, visit__kind="dosing", status=AppointmentStatus.BOOKED
    ).exclude(visit=visit)
    if exclude:
        booked = booked.exclude(pk=exclude)
    others += [a.starts_at.astimezone(tz).date() for a in booked]
    for other in others:
        if abs((day - other).days) < gap:
            check.add(
                "starts_at",
                f"dosing sessions must be at least {gap} days apart; another is on {other:%Y-%m-%d}",
            )


def appointment_book(
    *,
    actor: Actor,
    visit: Visit,
    room: Room | None,
    starts_at: datetime,
    ends_at: datetime,
    staff: Sequence[StaffPick],
    outside_window_reason: str = "",
) -> Appointment:
    site = visit.course.site
    booker = _require_booker(actor, site)
    with transaction.atomic():
        # Lock what a competing booking would contend for, in one fixed order: the room, then each
        # person by id. The second of two racing requests waits here and then sees the first.
        if room is not None:
            Room.objects.select_for_update().get(pk=room.pk)
        list(User.objects.select_for_update().filter(pk__in=sorted(p.user.pk for p in staff)).order_by("pk"))
        visit = (
            Visit.objects.select_for_update()
            .select_related("course__site", "course__protocol_version")
            .get(pk=visit.pk)
        )
        check = appointment_check(visit=visit, room=room, starts_at=starts_at, ends_at=ends_at, staff=staff)
        if check.warnings and not outside_window_reason.strip():
            check.add("outside_window_reason", check.warnings[0])
        if not check.ok:
            first = next(iter(check.problems.items()))
            raise ValidationFailed(
                f"{first[0]}: {first[1][0]}", fields=check.problems, code="booking_conflict"
            )
        appointment = Appointment.objects.create(
            site=site,
            visit=visit,
            room=room,
            starts_at=starts_at,
            ends_at=ends_at,
            booked_by=booker,
            outside_window_reason=outside_window_reason.strip() if check.warnings else "",
        )
        AppointmentStaff.objects.bulk_create(
            AppointmentStaff(appointment=appointment, user=p.user, role=p.role.value, is_lead=p.is_lead)
            for p in staff
        )
        audit_create(
            actor=actor,
            instance=appointment,
            fields=("visit", "room", "starts_at", "ends_at", "outside_window_reason"),
            site_id=site.public_id,
        )
    return appointment


def appointment_cancel(*, actor: Actor, appointment: Appointment, reason: str) -> Appointment:
    _require_booker(actor, appointment.site)
    reason = require_reason(reason)
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if appointment.status == AppointmentStatus.CANCELLED:
            raise Conflict("This appointment is already cancelled.")
        appointment.status, appointment.cancel_reason = AppointmentStatus.CANCELLED, reason
        appointment.save(update_fields=["status", "cancel_reason", "updated_at"])
        audit_update(
            actor=actor,
            instance=appointment,
            changes={"status": {"old": "booked", "new": "cancelled"}},
            site_id=appointment.site.public_id,
            reason=reason,
        )
    return appointment


# Calendar feeds ---------------------------------------------------------------------------------
def _feed_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def calendar_feed_create(*, actor: Actor) -> tuple[CalendarFeedToken, str]:
    """A new secret feed URL token for the actor (shown once); older ones stay until revoked."""
    user = actor.user
    if user is None:
        raise PermissionDenied("Only a person has a calendar.")
    secret = FEED_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = CalendarFeedToken.objects.create(user=user, secret_hash=_feed_hash(secret))
        audit_create(actor=actor, instance=token, fields=("user",), site_id=None)
    return token, secret


def calendar_feed_revoke(*, actor: Actor, token: CalendarFeedToken) -> CalendarFeedToken:
    if actor.user is None or token.user_id != actor.user.pk:
        raise PermissionDenied("Only the owner revokes a calendar feed.")
    with transaction.atomic():
        if token.revoked_at is None:
            token.revoked_at = now()
            token.save(update_fields=["revoked_at", "updated_at"])
            audit_update(
                actor=actor,
                instance=token,
                changes={"revoked_at": {"old": None, "new": token.revoked_at}},
                site_id=None,
                reason="calendar feed revoked",
            )
    return token


def calendar_feed_user(secret: str) -> User | None:
    token = (
        CalendarFeedToken.objects.filter(secret_hash=_feed_hash(secret), revoked_at__isnull=True)
        .select_related("user")
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    moment = now()
    if token.last_used_at is None or moment - token.last_used_at > timedelta(minutes=5):
        CalendarFeedToken.objects.filter(pk=token.pk).update(last_used_at=moment)
    return token.user
