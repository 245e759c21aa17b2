"""A staff member's appointments as an iCalendar (RFC 5545) feed, via the icalendar library.

The feed carries study IDs and visit names only, never a patient's name: calendar apps sync to
phones and cloud services.
"""

from __future__ import annotations

from collections.abc import Iterable

from icalendar import Calendar, Event

from haven.scheduling.models import Appointment


def appointments_ical(appointments: Iterable[Appointment], *, owner: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Haven//Clinical schedule//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Haven: {owner}")
    for appointment in appointments:
        event = Event()
        event.add("uid", f"{appointment.public_id}@haven")
        event.add("dtstamp", appointment.updated_at)
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.ends_at)
        event.add("summary", f"{appointment.visit.course.patient.study_id}: {appointment.visit.name}")
        location = appointment.room.name if appointment.room else "Phone"
        event.add("location", f"{location}, {appointment.site.name}")
        calendar.add_component(event)
    content: bytes = calendar.to_ical()
    return content
