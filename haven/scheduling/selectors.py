"""Calendars (day and week, per site, room or person) and the access layer for bookings."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from haven.accounts.models import Site, User
from haven.core.errors import NotFound
from haven.core.ids import parse_public_id
from haven.patients.models import EnrollmentCourse
from haven.patients.selectors import TimelineEvent, readable_sites
from haven.scheduling.models import Appointment, AppointmentStatus, CalendarFeedToken, Room


def access_room(*, user: User, room_id: uuid.UUID | str) -> Room:
    room = (
        Room.objects.filter(public_id=parse_public_id(room_id), site__in=readable_sites(user))
        .select_related("site")
        .first()
    )
    if room is None:
        raise NotFound("Room not found.")
    return room


def access_appointment(*, user: User, appointment_id: uuid.UUID | str) -> Appointment:
    appointment = (
        Appointment.objects.filter(public_id=parse_public_id(appointment_id), site__in=readable_sites(user))
        .select_related("site", "room", "visit__course__patient")
        .first()
    )
    if appointment is None:
        raise NotFound("Appointment not found.")
    return appointment


def room_list(*, site: Site) -> QuerySet[Room]:
    return Room.objects.filter(site=site, is_active=True).order_by("name")


def day_bounds(site: Site, first: date, days: int) -> tuple[datetime, datetime]:
    """UTC instants of local midnight on ``first`` and ``days`` days later, in the site's time zone."""
    tz = ZoneInfo(site.time_zone)
    start = datetime.combine(first, time.min, tzinfo=tz)
    return start, datetime.combine(first + timedelta(days=days), time.min, tzinfo=tz)


def calendar(
    *, site: Site, first: date, days: int = 1, room: Room | None = None, person: User | None = None
) -> QuerySet[Appointment]:
    """Booked appointments of a site in a span of local days, optionally for one room or person."""
    start, end = day_bounds(site, first, days)
    appointments = Appointment.objects.filter(
        site=site, status=AppointmentStatus.BOOKED, starts_at__lt=end, ends_at__gt=start
    )
    if room is not None:
        appointments = appointments.filter(room=room)
    if person is not None:
        appointments = appointments.filter(staff__user=person)
    return (
        appointments.select_related("room", "visit__course__patient")
        .prefetch_related("staff__user")
        .order_by("starts_at")
        .distinct()
    )


def person_appointments(*, user: User, since: datetime) -> QuerySet[Appointment]:
    """Everything ``user`` is booked for from ``since`` on, across their sites (for the iCal feed)."""
    return (
        Appointment.objects.filter(staff__user=user, status=AppointmentStatus.BOOKED, ends_at__gte=since)
        .select_related("site", "room", "visit__course__patient")
        .order_by("starts_at")
    )


def calendar_feed_list(*, user: User) -> QuerySet[CalendarFeedToken]:
    return CalendarFeedToken.objects.filter(user=user).order_by("-created_at")


def access_calendar_feed(*, user: User, feed_id: uuid.UUID | str) -> CalendarFeedToken:
    """One of the user's own feeds; anyone else's is "not found"."""
    feed = CalendarFeedToken.objects.filter(public_id=parse_public_id(feed_id), user=user).first()
    if feed is None:
        raise NotFound("Calendar feed not found.")
    return feed


def appointment_events(course: EnrollmentCourse) -> list[TimelineEvent]:
    """The course's bookings and cancellations, for the patient's timeline."""
    tz = ZoneInfo(course.site.time_zone)
    events = []
    for a in Appointment.objects.filter(visit__course=course).select_related("visit", "room"):
        where = a.room.name if a.room else "by phone"
        when = a.starts_at.astimezone(tz)
        events.append(
            TimelineEvent(
                a.created_at, "appointment", f"{a.visit.name} booked for {when:%Y-%m-%d %H:%M}, {where}"
            )
        )
        if a.status == AppointmentStatus.CANCELLED:
            events.append(
                TimelineEvent(
                    a.updated_at, "appointment", f"Booking of {a.visit.name} cancelled: {a.cancel_reason}"
                )
            )
    return events
