"""Scheduling pages: the site calendar (day and week), booking a visit, cancelling, rooms, feeds.

Every row is loaded through an ``access_*`` selector (another site's row is "not found"); every
change goes through a service, whose ``DomainError`` is shown next to the field it names. Role
checks here only decide what to *offer*; the services decide what is allowed. Times are shown in
the site's time zone, the one on the clinic's wall.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from haven.accounts.actors import actor_for
from haven.accounts.models import Role, Site, User
from haven.accounts.selectors import access_site, membership_list, roles_for, sites_for, staff_list
from haven.core.errors import DomainError, NotFound, PermissionDenied
from haven.core.forms import attach_error
from haven.core.time import local, now
from haven.patients.models import Visit
from haven.patients.roles import READ_ROLES
from haven.patients.selectors import access_visit
from haven.protocols.selectors import protocol_of
from haven.scheduling import selectors, services
from haven.scheduling.forms import (
    BOOKING_FIELDS,
    AppointmentBookForm,
    AppointmentCancelForm,
    CalendarFilterForm,
    RoomCreateForm,
    StaffOption,
)
from haven.scheduling.ical import appointments_ical
from haven.scheduling.models import Appointment, Room, RoomKind

# The roles a visit can ask for (protocols name these); the booking form offers people in them.
BOOKABLE_ROLES = (Role.THERAPIST, Role.PHYSICIAN, Role.COORDINATOR, Role.PHARMACIST, Role.BLINDED_RATER)
# A first guess at the room, so the usual booking takes fewer clicks; the coordinator can change it.
ROOM_FOR_VISIT = {
    "dosing": RoomKind.DOSING,
    "preparation": RoomKind.THERAPY,
    "integration": RoomKind.THERAPY,
    "follow-up": RoomKind.THERAPY,
    "assessment": RoomKind.ASSESSMENT,
}
PROBLEM_LABELS = {
    "starts_at": "Start",
    "ends_at": "End",
    "room": "Room",
    "staff": "Staff",
    "visit": "Visit",
    "outside_window_reason": "Reason",
}
FEED_DAYS_BACK = 30


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _today(site: Site) -> date:
    return local(now(), site.time_zone).date()


def _can_book(user: User, site: Site) -> bool:
    return bool(roles_for(user, site) & services.BOOKING_ROLES)


def calendar_url(
    site: Site, *, view: str = "day", day: date | None = None, room: str = "", person: str = ""
) -> str:
    query = {"view": view, "date": day.isoformat() if day else "", "room": room, "person": person}
    return (
        reverse("scheduling:calendar", args=[site.public_id])
        + "?"
        + urlencode({k: v for k, v in query.items() if v})
    )


# The calendar -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    appointment: Appointment
    when: str
    staff: str


@dataclass(frozen=True)
class CalendarRow:
    label: str
    cells: list[list[Entry]]


def _clock(moment: datetime, time_zone: str, day: date) -> str:
    """Wall-clock time at the site; with the date when it falls on another day than ``day``."""
    at = local(moment, time_zone)
    return f"{at:%H:%M}" if at.date() == day else f"{at:%m-%d %H:%M}"


def _entry(appointment: Appointment, site: Site, day: date) -> Entry:
    staff = sorted(appointment.staff.all(), key=lambda s: (not s.is_lead, s.user.printed_name))
    names = ", ".join(f"{s.user.printed_name}{' (lead)' if s.is_lead else ''}" for s in staff)
    start = _clock(appointment.starts_at, site.time_zone, day)
    end = _clock(appointment.ends_at, site.time_zone, day)
    return Entry(appointment=appointment, when=f"{start}–{end}", staff=names)


def _rows(
    site: Site, days: list[date], appointments: list[Appointment], rooms: list[Room], room: Room | None
) -> list[CalendarRow]:
    """One row per room (inactive rooms only when booked, a "no room" row only when needed)."""
    shown: list[Room | None] = [room] if room is not None else list(rooms)
    for appointment in appointments:
        if appointment.room not in shown:
            shown.append(appointment.room)
    bounds = [selectors.day_bounds(site, day, 1) for day in days]
    rows = []
    for row_room in shown:
        booked = [a for a in appointments if a.room_id == (row_room.pk if row_room else None)]
        cells = [
            [_entry(a, site, day) for a in booked if a.starts_at < end and a.ends_at > start]
            for day, (start, end) in zip(days, bounds, strict=True)
        ]
        rows.append(CalendarRow(label=row_room.name if row_room else "No room (phone)", cells=cells))
    return rows


@login_required
@require_safe
def calendar_page(request: HttpRequest, site_id: uuid.UUID) -> HttpResponse:
    user = _user(request)
    site = access_site(user=user, site_id=site_id, roles=READ_ROLES)
    rooms = list(selectors.room_list(site=site))
    people = staff_list(site=site)
    form = CalendarFilterForm(
        request.GET or None,
        initial={"date": _today(site), "view": "day"},
        rooms=[(str(r.public_id), r.name) for r in rooms],
        people=[(str(m.user.public_id), m.user.printed_name or m.user.username) for m in people],
    )
    context: dict[str, object] = {"site": site, "form": form, "can_book": _can_book(user, site)}
    if form.is_bound and not form.is_valid():
        # A calendar of some other day than the one asked for would mislead: show only the error.
        return render(request, "scheduling/calendar.html", context, status=400)
    wanted = form.cleaned_data if form.is_bound else {}
    view = wanted.get("view") or "day"
    day = wanted.get("date") or _today(site)
    room_id, person_id = wanted.get("room", ""), wanted.get("person", "")
    room = next((r for r in rooms if str(r.public_id) == room_id), None)
    person = next((m.user for m in people if str(m.user.public_id) == person_id), None)
    first = day if view == "day" else day - timedelta(days=day.weekday())
    days = [first + timedelta(days=n) for n in range(1 if view == "day" else 7)]
    appointments = list(selectors.calendar(site=site, first=first, days=len(days), room=room, person=person))
    step = timedelta(days=1 if view == "day" else 7)
    keep = {"room": room_id, "person": person_id}
    context |= {
        "view": view,
        "day": day,
        "days": days,
        "rows": _rows(site, days, appointments, rooms, room),
        "count": len(appointments),
        "room": room,
        "person": person,
        "previous_url": calendar_url(site, view=view, day=first - step, **keep),
        "next_url": calendar_url(site, view=view, day=first + step, **keep),
        "today_url": calendar_url(site, view=view, **keep),
        "day_url": calendar_url(site, view="day", day=day, **keep),
        "week_url": calendar_url(site, view="week", day=day, **keep),
        "columns": [(d, calendar_url(site, view="day", day=d, **keep)) for d in days],
    }
    return render(request, "scheduling/calendar.html", context)


# Booking ----------------------------------------------------------------------------------------
def _require_booker(user: User, site: Site) -> None:
    """Offer the booking page only to those who may book (the service checks again on saving)."""
    if not _can_book(user, site):
        raise PermissionDenied("Booking needs the coordinator, physician or site administrator role.")


def _staff_options(site: Site, needed: list[str]) -> list[StaffOption]:
    """Everyone at the site in a role a visit can ask for; the roles this visit needs first."""
    options = [
        StaffOption(key=f"{m.user.public_id}:{m.role}", user=m.user, role=Role(m.role))
        for m in membership_list(site=site)
        if m.role in BOOKABLE_ROLES
    ]
    order = {role: n for n, role in enumerate(needed)}
    return sorted(
        options, key=lambda o: (order.get(o.role.value, len(order)), o.role.label, o.user.printed_name)
    )


@dataclass(frozen=True)
class BookingPage:
    visit: Visit
    site: Site
    needs: str
    options: list[StaffOption]
    form: AppointmentBookForm


def _booking(request: HttpRequest, visit: Visit, *, bound: bool) -> BookingPage:
    site = visit.course.site
    definition = protocol_of(visit.course.protocol_version).visit(visit.definition_code)
    needs = ", ".join(
        f"{s.count} × {s.role.value}" + (f" ({s.lead} lead)" if s.lead else "") for s in definition.staff
    )
    options = _staff_options(site, [s.role.value for s in definition.staff])
    rooms = list(selectors.room_list(site=site))
    guess = ROOM_FOR_VISIT.get(visit.kind)
    room = next((r for r in rooms if r.kind == guess), None)
    form = AppointmentBookForm(
        request.POST if bound else None,
        initial={
            "date": visit.target_date,
            "start": time(9, 0),
            "minutes": visit.planned_minutes,
            "room": str(room.public_id) if room else "",
        },
        rooms=[(str(r.public_id), f"{r.name} ({r.get_kind_display()})") for r in rooms],
        options=options,
        time_zone=site.time_zone,
    )
    return BookingPage(visit=visit, site=site, needs=needs or "—", options=options, form=form)


def _render_booking(request: HttpRequest, page: BookingPage, *, status: int = 200) -> HttpResponse:
    form = page.form
    picked = set(form["staff"].value() or [])
    lead = form["lead"].value() or ""
    context = {
        "visit": page.visit,
        "site": page.site,
        "patient": page.visit.course.patient,
        "needs": page.needs,
        "form": form,
        "staff_rows": [(o, o.key in picked, o.key == lead) for o in page.options],
    }
    return render(request, "scheduling/book.html", context, status=status)


def _attach_booking_error(form: AppointmentBookForm, error: DomainError) -> None:
    """The service's problems next to the form's fields; those without a field at the top."""
    if not error.fields:
        form.add_error(None, error.message)
    for field, problems in error.fields.items():
        target = BOOKING_FIELDS.get(field, field)
        for problem in problems:
            if target in form.fields:
                form.add_error(target, problem)
            else:
                form.add_error(None, f"{PROBLEM_LABELS.get(field, field)}: {problem}")


def _picks(form: AppointmentBookForm) -> list[services.StaffPick]:
    return [services.StaffPick(user, role, is_lead=lead) for user, role, lead in form.staff_picks()]


def _room(site: Site, room_id: str) -> Room | None:
    return next((r for r in selectors.room_list(site=site) if str(r.public_id) == room_id), None)


@login_required
@require_http_methods(["GET", "POST"])
def appointment_book(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    user = _user(request)
    visit = access_visit(user=user, visit_id=visit_id)
    _require_booker(user, visit.course.site)
    page = _booking(request, visit, bound=request.method == "POST")
    if request.method == "GET":
        return _render_booking(request, page)
    form = page.form
    if not form.is_valid():
        return _render_booking(request, page, status=422)
    data = form.cleaned_data
    try:
        appointment = services.appointment_book(
            actor=actor_for(request),
            visit=visit,
            room=_room(page.site, data["room"]),
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            staff=_picks(form),
            outside_window_reason=data["outside_window_reason"],
        )
    except DomainError as error:
        _attach_booking_error(form, error)
        return _render_booking(request, page, status=error.status)
    starts = local(appointment.starts_at, page.site.time_zone)
    patient = visit.course.patient
    messages.success(request, f"Booked {visit.name} for {patient.study_id} on {starts:%Y-%m-%d at %H:%M}.")
    return redirect(calendar_url(page.site, view="day", day=starts.date()))


@login_required
@require_POST
def appointment_check(request: HttpRequest, visit_id: uuid.UUID) -> HttpResponse:
    """The booking form's conflicts and warnings, before anything is saved (an htmx partial)."""
    user = _user(request)
    visit = access_visit(user=user, visit_id=visit_id)
    _require_booker(user, visit.course.site)
    page = _booking(request, visit, bound=True)
    form = page.form
    context: dict[str, object] = {"checked": False}
    if form.is_valid():
        data = form.cleaned_data
        check = services.appointment_check(
            visit=visit,
            room=_room(page.site, data["room"]),
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            staff=_picks(form),
        )
        context = {
            "checked": True,
            "ok": check.ok,
            "problems": [(PROBLEM_LABELS.get(k, k), msgs) for k, msgs in check.problems.items()],
            "warnings": check.warnings,
        }
    else:
        context["problems"] = [
            (form.fields[k].label if k in form.fields else "Form", [str(e) for e in errs])
            for k, errs in form.errors.items()
        ]
    return render(request, "scheduling/partials/check.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def appointment_cancel(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    user = _user(request)
    appointment = selectors.access_appointment(user=user, appointment_id=appointment_id)
    site = appointment.site
    form = AppointmentCancelForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_cancel(
                actor=actor_for(request), appointment=appointment, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            attach_error(form, error)
            status = error.status
        else:
            messages.success(
                request, f"Cancelled {appointment.visit.name} for {appointment.visit.course.patient}."
            )
            return redirect(
                calendar_url(site, view="day", day=local(appointment.starts_at, site.time_zone).date())
            )
    elif request.method == "POST":
        status = 422
    starts = local(appointment.starts_at, site.time_zone)
    ends = local(appointment.ends_at, site.time_zone)
    context = {
        "appointment": appointment,
        "site": site,
        "when": f"{starts:%Y-%m-%d %H:%M}–{ends:%H:%M}",
        "staff": ", ".join(s.user.printed_name for s in appointment.staff.select_related("user")),
        "form": form,
        "can_book": _can_book(user, site),
        "back_url": calendar_url(site, view="day", day=starts.date()),
    }
    return render(request, "scheduling/cancel.html", context, status=status)


# Rooms ------------------------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def room_list(request: HttpRequest, site_id: uuid.UUID) -> HttpResponse:
    user = _user(request)
    site = access_site(user=user, site_id=site_id)
    form = RoomCreateForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 422
        else:
            try:
                room = services.room_create(
                    actor=actor_for(request),
                    site=site,
                    name=form.cleaned_data["name"],
                    kind=form.cleaned_data["kind"],
                )
            except DomainError as error:
                attach_error(form, error)
                status = error.status
            else:
                messages.success(request, f"Added {room.name}.")
                return redirect("scheduling:rooms", site_id=site.public_id)
    context = {
        "site": site,
        "rooms": selectors.room_list(site=site),
        "form": form,
        "is_admin": Role.SITE_ADMIN in roles_for(user, site),
    }
    return render(request, "scheduling/rooms.html", context, status=status)


# Calendar feeds ---------------------------------------------------------------------------------
def _feed_page(request: HttpRequest, user: User, *, new_url: str = "") -> HttpResponse:
    context = {
        "feeds": selectors.calendar_feed_list(user=user).order_by("revoked_at", "-created_at"),
        "new_url": new_url,
        "sites": [s for s in sites_for(user) if roles_for(user, s) & READ_ROLES],
    }
    return render(request, "scheduling/feed.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def calendar_feed(request: HttpRequest) -> HttpResponse:
    """The user's feed URLs; a POST makes a new one and shows it this once."""
    user = _user(request)
    if request.method == "GET":
        return _feed_page(request, user)
    _, secret = services.calendar_feed_create(actor=actor_for(request))
    return _feed_page(
        request, user, new_url=request.build_absolute_uri(reverse("scheduling:feed", args=[secret]))
    )


@login_required
@require_POST
def calendar_feed_revoke(request: HttpRequest, feed_id: uuid.UUID) -> HttpResponse:
    user = _user(request)
    token = selectors.access_calendar_feed(user=user, feed_id=feed_id)
    services.calendar_feed_revoke(actor=actor_for(request), token=token)
    messages.success(request, "Feed URL revoked: calendar apps using it will stop updating.")
    return redirect("scheduling:calendar_feed")


@require_safe
def feed(request: HttpRequest, secret: str) -> HttpResponse:
    """A staff member's appointments as iCalendar, for calendar apps: the secret URL is the key."""
    user = services.calendar_feed_user(secret)
    if user is None:
        raise NotFound("No calendar feed has this address; it may have been revoked.")
    appointments = selectors.person_appointments(user=user, since=now() - timedelta(days=FEED_DAYS_BACK))
    content = appointments_ical(appointments, owner=user.printed_name or user.username)
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response
