"""Scheduling API: rooms, checking and booking visits, cancelling, calendars, iCalendar feeds.

Rows are loaded only through the ``access_*`` selectors, so another site's rows are "not found";
the services decide what is allowed. A reference in a request body or query that does not resolve
(a room, a person) is invalid input (422 naming the field); an id in the path that does not
resolve is 404.
"""

from __future__ import annotations

import uuid

from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router, Status

from haven.accounts.auth import principal_actor, principal_user, user_auth
from haven.accounts.models import Role, Site, User
from haven.accounts.selectors import access_site, site_member
from haven.core.errors import NotFound, field_error
from haven.core.schemas import ERRORS
from haven.core.time import local, now
from haven.patients.models import Visit
from haven.patients.roles import READ_ROLES
from haven.patients.selectors import access_visit
from haven.scheduling import selectors, services
from haven.scheduling.models import Appointment, AppointmentStatus, CalendarFeedToken, Room, RoomKind
from haven.scheduling.schemas import (
    AppointmentBookIn,
    AppointmentCancelIn,
    AppointmentCheckIn,
    AppointmentOut,
    AppointmentRoomOut,
    AppointmentStaffOut,
    AppointmentVisitOut,
    BookingCheckOut,
    CalendarFeedCreatedOut,
    CalendarFeedOut,
    CalendarFilter,
    RoomCreateIn,
    RoomOut,
    StaffPickIn,
)

router = Router(auth=user_auth, tags=["scheduling"])


# Loading ----------------------------------------------------------------------------------------
def _room_at(user: User, site: Site, room_id: uuid.UUID | None, *, field: str) -> Room | None:
    """A room of ``site`` named in a body or query; anything else is invalid input on ``field``."""
    if room_id is None:
        return None
    try:
        room = selectors.access_room(user=user, room_id=room_id)
    except NotFound:
        raise field_error(field, "no room of this site has this id") from None
    if room.site_id != site.pk:
        raise field_error(field, "no room of this site has this id")
    return room


def _staff_picks(site: Site, staff: list[StaffPickIn]) -> list[services.StaffPick]:
    """The people picked, each a member of ``site`` and picked once (422 naming the entry if not)."""
    picks: list[services.StaffPick] = []
    seen: set[uuid.UUID] = set()
    for index, pick in enumerate(staff):
        if pick.user_id in seen:
            raise field_error(f"staff.{index}.user_id", "this person is already picked")
        seen.add(pick.user_id)
        try:
            person = site_member(site=site, user_id=pick.user_id)
        except NotFound:
            raise field_error(f"staff.{index}.user_id", "is not staff of this site") from None
        picks.append(services.StaffPick(person, Role(pick.role), is_lead=pick.is_lead))
    return picks


# Shaping ----------------------------------------------------------------------------------------
def _room_out(room: Room, site: Site) -> RoomOut:
    return RoomOut(
        id=room.public_id,
        site_id=site.public_id,
        name=room.name,
        kind=RoomKind(room.kind),
        is_active=room.is_active,
    )


def _appointment_out(appointment: Appointment) -> AppointmentOut:
    """Expects ``site``, ``room``, ``visit__course__patient`` and ``staff__user`` loaded."""
    visit = appointment.visit
    room = appointment.room
    staff = sorted(appointment.staff.all(), key=lambda s: (not s.is_lead, s.user.printed_name))
    return AppointmentOut(
        id=appointment.public_id,
        site_id=appointment.site.public_id,
        visit=AppointmentVisitOut(id=visit.public_id, code=visit.code, name=visit.name),
        study_id=visit.course.patient.study_id,
        room=AppointmentRoomOut(id=room.public_id, name=room.name) if room else None,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        staff=[
            AppointmentStaffOut(
                user_id=s.user.public_id,
                printed_name=s.user.printed_name or s.user.username,
                role=Role(s.role),
                is_lead=s.is_lead,
            )
            for s in staff
        ],
        status=AppointmentStatus(appointment.status),
        outside_window_reason=appointment.outside_window_reason,
        cancel_reason=appointment.cancel_reason,
    )


def _reloaded(user: User, appointment: Appointment) -> Appointment:
    loaded = selectors.access_appointment(user=user, appointment_id=appointment.public_id)
    prefetch_related_objects([loaded], "staff__user")
    return loaded


def _feed_out(token: CalendarFeedToken) -> CalendarFeedOut:
    return CalendarFeedOut(
        id=token.public_id,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


# Rooms ------------------------------------------------------------------------------------------
@router.get(
    "/sites/{site_id}/rooms", response={200: list[RoomOut], **ERRORS}, summary="A site's active rooms"
)
def room_list(request: HttpRequest, site_id: uuid.UUID) -> list[RoomOut]:
    site = access_site(user=principal_user(request), site_id=site_id)
    return [_room_out(room, site) for room in selectors.room_list(site=site)]


@router.post(
    "/sites/{site_id}/rooms", response={201: RoomOut, **ERRORS}, summary="Add a room (site administrator)"
)
def room_create(request: HttpRequest, site_id: uuid.UUID, payload: RoomCreateIn) -> Status[RoomOut]:
    site = access_site(user=principal_user(request), site_id=site_id)
    room = services.room_create(
        actor=principal_actor(request), site=site, name=payload.name, kind=payload.kind
    )
    return Status(201, _room_out(room, site))


# Booking ----------------------------------------------------------------------------------------
def _booking_parts(
    user: User, visit: Visit, payload: AppointmentCheckIn | AppointmentBookIn
) -> tuple[Room | None, list[services.StaffPick]]:
    site = visit.course.site
    return _room_at(user, site, payload.room_id, field="room_id"), _staff_picks(site, payload.staff)


@router.post(
    "/visits/{visit_id}/appointments/check",
    response={200: BookingCheckOut, **ERRORS},
    summary="What would stand in the way of a booking (nothing is saved)",
)
def appointment_check(
    request: HttpRequest, visit_id: uuid.UUID, payload: AppointmentCheckIn
) -> BookingCheckOut:
    user = principal_user(request)
    visit = access_visit(user=user, visit_id=visit_id)
    room, staff = _booking_parts(user, visit, payload)
    check = services.appointment_check(
        visit=visit, room=room, starts_at=payload.starts_at, ends_at=payload.ends_at, staff=staff
    )
    return BookingCheckOut(ok=check.ok, problems=check.problems, warnings=check.warnings)


@router.post(
    "/visits/{visit_id}/appointments",
    response={201: AppointmentOut, **ERRORS},
    summary="Book a visit (coordinator, physician or site administrator); 422 booking_conflict if refused",
)
def appointment_book(
    request: HttpRequest, visit_id: uuid.UUID, payload: AppointmentBookIn
) -> Status[AppointmentOut]:
    user = principal_user(request)
    visit = access_visit(user=user, visit_id=visit_id)
    room, staff = _booking_parts(user, visit, payload)
    appointment = services.appointment_book(
        actor=principal_actor(request),
        visit=visit,
        room=room,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        staff=staff,
        outside_window_reason=payload.outside_window_reason,
    )
    return Status(201, _appointment_out(_reloaded(user, appointment)))


@router.post(
    "/appointments/{appointment_id}/cancel",
    response={200: AppointmentOut, **ERRORS},
    summary="Cancel an appointment, with a reason",
)
def appointment_cancel(
    request: HttpRequest, appointment_id: uuid.UUID, payload: AppointmentCancelIn
) -> AppointmentOut:
    user = principal_user(request)
    appointment = selectors.access_appointment(user=user, appointment_id=appointment_id)
    appointment = services.appointment_cancel(
        actor=principal_actor(request), appointment=appointment, reason=payload.reason
    )
    return _appointment_out(_reloaded(user, appointment))


# Calendars --------------------------------------------------------------------------------------
@router.get(
    "/sites/{site_id}/calendar",
    response={200: list[AppointmentOut], **ERRORS},
    summary="Booked appointments of a site over 1–31 local days, by room or person",
)
def calendar(
    request: HttpRequest, site_id: uuid.UUID, filters: Query[CalendarFilter]
) -> list[AppointmentOut]:
    user = principal_user(request)
    site = access_site(user=user, site_id=site_id, roles=READ_ROLES)
    room = _room_at(user, site, filters.room_id, field="room_id")
    person: User | None = None
    if filters.user_id is not None:
        try:
            person = site_member(site=site, user_id=filters.user_id)
        except NotFound:
            raise field_error("user_id", "is not staff of this site") from None
    first = filters.first or local(now(), site.time_zone).date()
    appointments = selectors.calendar(site=site, first=first, days=filters.days, room=room, person=person)
    return [_appointment_out(a) for a in appointments]


@router.get(
    "/calendar-feeds", response={200: list[CalendarFeedOut], **ERRORS}, summary="My calendar feed URLs"
)
def calendar_feed_list(request: HttpRequest) -> list[CalendarFeedOut]:
    tokens = selectors.calendar_feed_list(user=principal_user(request))
    return [_feed_out(t) for t in tokens]


@router.post(
    "/calendar-feeds",
    response={201: CalendarFeedCreatedOut, **ERRORS},
    summary="Create a secret iCalendar feed URL of my appointments (shown once)",
)
def calendar_feed_create(request: HttpRequest) -> Status[CalendarFeedCreatedOut]:
    token, secret = services.calendar_feed_create(actor=principal_actor(request))
    url = request.build_absolute_uri(reverse("scheduling:feed", args=[secret]))
    return Status(201, CalendarFeedCreatedOut(id=token.public_id, created_at=token.created_at, url=url))


@router.post(
    "/calendar-feeds/{feed_id}/revoke",
    response={200: CalendarFeedOut, **ERRORS},
    summary="Revoke a calendar feed URL: it answers 404 from now on",
)
def calendar_feed_revoke(request: HttpRequest, feed_id: uuid.UUID) -> CalendarFeedOut:
    token = selectors.access_calendar_feed(user=principal_user(request), feed_id=feed_id)
    return _feed_out(services.calendar_feed_revoke(actor=principal_actor(request), token=token))
