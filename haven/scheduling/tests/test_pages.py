"""Scheduling pages: the calendar, booking with its live check, cancelling, rooms, feed URLs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from haven.accounts.models import Role
from haven.core.testing import Cast, actor_of, client_for, make_credential, make_enrolled_course
from haven.patients.models import EnrollmentCourse, Visit
from haven.scheduling.models import Appointment, AppointmentStatus, CalendarFeedToken, Room
from haven.scheduling.services import StaffPick, appointment_book, room_create

pytestmark = pytest.mark.django_db
CHICAGO = ZoneInfo("America/Chicago")
ENROLLED = date(2026, 11, 20)
DAY = date(2026, 11, 27)  # prep1's target; its window is 2026-11-24 to 2026-12-04
INLINE = re.compile(r"<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with time_machine.travel(datetime(2026, 11, 25, 15, 0, tzinfo=UTC), tick=True):
        yield


def _setup(cast: Cast) -> tuple[EnrollmentCourse, Room, Room]:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    therapy = room_create(actor=actor_of(cast.morgan), site=cast.site_a, name="Willow room", kind="therapy")
    suite = room_create(actor=actor_of(cast.morgan), site=cast.site_a, name="Dosing suite 1", kind="dosing")
    make_credential(cast.alice, cast.site_a)
    make_credential(cast.ben, cast.site_a, identifier="PSY-77", valid_until=date(2026, 12, 1))
    return course, therapy, suite


def _prep1(course: EnrollmentCourse) -> Visit:
    return Visit.objects.get(course=course, code="prep1")


def _book_directly(cast: Cast, visit: Visit, room: Room, start: int = 10, end: int = 11) -> Appointment:
    return appointment_book(
        actor=actor_of(cast.carmen),
        visit=visit,
        room=room,
        starts_at=datetime(2026, 11, 27, start, tzinfo=CHICAGO),
        ends_at=datetime(2026, 11, 27, end, tzinfo=CHICAGO),
        staff=[StaffPick(cast.alice, Role.THERAPIST, is_lead=True), StaffPick(cast.ben, Role.THERAPIST)],
    )


def _form(cast: Cast, room: Room | None, **overrides: Any) -> dict[str, Any]:
    alice, ben = f"{cast.alice.public_id}:therapist", f"{cast.ben.public_id}:therapist"
    values: dict[str, Any] = {
        "date": "2026-11-27",
        "start": "10:00",
        "minutes": "90",
        "room": str(room.public_id) if room else "",
        "staff": [alice, ben],
        "lead": alice,
        "outside_window_reason": "",
    }
    return values | overrides


def _text(response: Any) -> str:
    body: str = response.content.decode()
    return body


def _calendar(cast: Cast, query: str = "") -> str:
    return f"/sites/{cast.site_a.public_id}/calendar/{query}"


# The calendar -----------------------------------------------------------------------------------
def test_the_calendar_needs_login(cast: Cast) -> None:
    response = Client().get(_calendar(cast))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/?next=")


def test_oscar_gets_a_404_for_another_sites_calendar(cast: Cast) -> None:
    assert client_for(cast.oscar).get(_calendar(cast)).status_code == 404


def test_the_day_view_shows_each_rooms_appointments_in_site_time(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    _book_directly(cast, _prep1(course), therapy, 10, 11)
    response = client_for(cast.alice).get(_calendar(cast, "?view=day&date=2026-11-27"))
    assert response.status_code == 200
    page = _text(response)
    assert "Friday 2026-11-27" in page
    assert "Willow room" in page
    assert "Dosing suite 1" in page
    assert "10:00–11:00" in page  # Chicago time, not the stored 16:00 UTC
    assert "ALD-0001" in page
    assert "Preparation session 1" in page
    assert "Dr Alice Adams (lead), Ben Okafor" in page
    assert "Jordan" not in page
    assert page.count('data-testid="appointment"') == 1
    assert "?view=day&amp;date=2026-11-26" in page  # previous
    assert "?view=day&amp;date=2026-11-28" in page  # next
    assert not INLINE.search(page)


def test_the_week_view_has_seven_days_from_monday(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    _book_directly(cast, _prep1(course), therapy)
    page = _text(client_for(cast.alice).get(_calendar(cast, "?view=week&date=2026-11-27")))
    assert "Week of 2026-11-23" in page
    for label in ("Mon 11-23", "Tue 11-24", "Wed 11-25", "Thu 11-26", "Fri 11-27", "Sat 11-28", "Sun 11-29"):
        assert label in page
    assert page.count('data-testid="appointment"') == 1
    assert "?view=week&amp;date=2026-11-16" in page
    assert "?view=week&amp;date=2026-11-30" in page


def test_the_calendar_defaults_to_today_at_the_site(cast: Cast) -> None:
    page = _text(client_for(cast.alice).get(_calendar(cast)))
    assert "Wednesday 2026-11-25" in page


def test_the_calendar_filters_by_room_and_person(cast: Cast) -> None:
    course, therapy, suite = _setup(cast)
    _book_directly(cast, _prep1(course), therapy)
    client = client_for(cast.carmen)
    base = "?view=day&date=2026-11-27"
    assert _text(client.get(_calendar(cast, f"{base}&room={therapy.public_id}"))).count("ALD-0001") == 1
    by_suite = _text(client.get(_calendar(cast, f"{base}&room={suite.public_id}")))
    assert "ALD-0001" not in by_suite
    assert "Willow room" not in by_suite.split("<table")[1]
    assert "ALD-0001" in _text(client.get(_calendar(cast, f"{base}&person={cast.ben.public_id}")))
    assert "ALD-0001" not in _text(client.get(_calendar(cast, f"{base}&person={cast.priya.public_id}")))


def test_an_invalid_date_on_the_calendar_is_a_clear_error(cast: Cast) -> None:
    response = client_for(cast.alice).get(_calendar(cast, "?view=day&date=2026-02-30"))
    assert response.status_code == 400
    page = _text(response)
    assert "Enter a valid date." in page
    assert "<table" not in page


def test_a_room_of_another_site_is_refused_as_a_filter(cast: Cast) -> None:
    birch = room_create(actor=actor_of(cast.oscar), site=cast.site_b, name="Birch room", kind="therapy")
    response = client_for(cast.alice).get(_calendar(cast, f"?room={birch.public_id}"))
    assert response.status_code == 400
    assert "Select a valid choice" in _text(response)


# Booking ----------------------------------------------------------------------------------------
def test_the_booking_page_is_prefilled_from_the_visit(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    visit = _prep1(course)
    response = client_for(cast.carmen).get(f"/visits/{visit.public_id}/book/")
    assert response.status_code == 200
    page = _text(response)
    assert "2026-11-24 to 2026-12-04" in page
    assert 'name="date" value="2026-11-27"' in page
    assert 'name="minutes" value="90"' in page
    assert f'<option value="{therapy.public_id}" selected>' in page
    assert f'value="{cast.alice.public_id}:therapist"' in page
    assert 'name="outside_window_reason"' in page
    assert f'hx-post="/visits/{visit.public_id}/book/check/"' in page
    assert "2 × therapist (1 lead)" in page
    assert not INLINE.search(page)


def test_a_therapist_is_not_offered_booking(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    visit = _prep1(course)
    client = client_for(cast.alice)
    assert client.get(f"/visits/{visit.public_id}/book/").status_code == 403
    assert client.post(f"/visits/{visit.public_id}/book/", _form(cast, therapy)).status_code == 403
    assert client.post(f"/visits/{visit.public_id}/book/check/", _form(cast, therapy)).status_code == 403
    assert not Appointment.objects.exists()


def test_oscar_gets_a_404_for_another_sites_booking_page(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    visit = _prep1(course)
    client = client_for(cast.oscar)
    assert client.get(f"/visits/{visit.public_id}/book/").status_code == 404
    assert client.post(f"/visits/{visit.public_id}/book/", _form(cast, therapy)).status_code == 404
    assert not Appointment.objects.exists()


def test_the_check_partial_shows_conflicts_before_saving(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    _book_directly(cast, _prep1(course), therapy, 10, 11)
    other = _prep1(make_enrolled_course(cast, enrolled_on=ENROLLED))
    response = client_for(cast.carmen).post(
        f"/visits/{other.public_id}/book/check/", _form(cast, therapy), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    partial = _text(response)
    assert "<html" not in partial
    assert 'class="error"' in partial
    assert "Room: Willow room is booked" in partial
    assert "Staff: Dr Alice Adams is booked" in partial
    assert 'data-testid="check-ok"' not in partial
    assert Appointment.objects.count() == 1


def test_the_check_partial_warns_outside_the_window(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    response = client_for(cast.carmen).post(
        f"/visits/{_prep1(course).public_id}/book/check/", _form(cast, therapy, date="2026-12-07")
    )
    partial = _text(response)
    assert 'class="notice warn"' in partial
    assert "2026-12-07 is outside the visit&#x27;s window (2026-11-24 to 2026-12-04)" in partial
    assert 'class="error"' not in partial
    assert 'data-testid="check-ok"' in partial
    assert not Appointment.objects.exists()


def test_the_check_partial_says_when_all_is_clear(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    partial = _text(
        client_for(cast.carmen).post(f"/visits/{_prep1(course).public_id}/book/check/", _form(cast, therapy))
    )
    assert "ready to book" in partial
    assert 'class="error"' not in partial


def test_the_check_partial_lists_unreadable_input(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    partial = _text(
        client_for(cast.carmen).post(
            f"/visits/{_prep1(course).public_id}/book/check/", _form(cast, therapy, start="")
        )
    )
    assert "Start: This field is required." in partial


def test_booking_saves_and_lands_on_the_calendar_day(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    visit = _prep1(course)
    client = client_for(cast.carmen)
    response = client.post(f"/visits/{visit.public_id}/book/", _form(cast, therapy))
    assert response.status_code == 302
    assert response.headers["Location"] == _calendar(cast, "?view=day&date=2026-11-27")
    appointment = Appointment.objects.get()
    assert appointment.visit == visit
    assert appointment.room == therapy
    assert appointment.starts_at == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert appointment.ends_at == datetime(2026, 11, 27, 17, 30, tzinfo=UTC)
    assert sorted(appointment.staff.values_list("user__username", "role", "is_lead")) == [
        ("alice", "therapist", True),
        ("ben", "therapist", False),
    ]
    page = _text(client.get(response.headers["Location"]))
    assert "Booked Preparation session 1 for ALD-0001 on 2026-11-27 at 10:00." in page
    assert "10:00–11:30" in page


def test_a_refused_booking_shows_the_problems_at_their_fields(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    _book_directly(cast, _prep1(course), therapy, 10, 11)
    other = _prep1(make_enrolled_course(cast, enrolled_on=ENROLLED))
    response = client_for(cast.carmen).post(f"/visits/{other.public_id}/book/", _form(cast, therapy))
    assert response.status_code == 422
    page = _text(response)
    room_field = page.split('for="id_room"')[1].split("</div>")[0]
    assert "Willow room is booked" in room_field
    assert "Dr Alice Adams is booked" in page
    assert Appointment.objects.count() == 1
    # The form keeps what was entered.
    assert f'value="{cast.alice.public_id}:therapist" checked' in page


def test_booking_outside_the_window_asks_for_the_reason_at_its_field(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    path = f"/visits/{_prep1(course).public_id}/book/"
    client = client_for(cast.carmen)
    response = client.post(path, _form(cast, therapy, date="2026-12-07"))
    assert response.status_code == 422
    reason_field = _text(response).split('for="id_outside_window_reason"')[1].split("</div>")[0]
    assert "outside the visit&#x27;s window" in reason_field
    assert not Appointment.objects.exists()
    booked = client.post(path, _form(cast, therapy, date="2026-12-07", outside_window_reason="travel"))
    assert booked.status_code == 302
    assert Appointment.objects.get().outside_window_reason == "travel"


def test_the_lead_must_be_one_of_the_staff_ticked(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    form = _form(cast, therapy, staff=[f"{cast.ben.public_id}:therapist"])
    response = client_for(cast.carmen).post(f"/visits/{_prep1(course).public_id}/book/", form)
    assert response.status_code == 422
    assert "The lead must be one of the staff ticked." in _text(response)
    assert not Appointment.objects.exists()


# Cancelling -------------------------------------------------------------------------------------
def test_cancelling_needs_a_reason_and_returns_to_the_day(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    appointment = _book_directly(cast, _prep1(course), therapy)
    path = f"/appointments/{appointment.public_id}/cancel/"
    client = client_for(cast.carmen)
    assert "Cancel the appointment" in _text(client.get(path))
    refused = client.post(path, {"reason": ""})
    assert refused.status_code == 422
    assert "A reason is required" in _text(refused)
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED
    response = client.post(path, {"reason": "patient unwell"})
    assert response.status_code == 302
    assert response.headers["Location"] == _calendar(cast, "?view=day&date=2026-11-27")
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancel_reason) == ("cancelled", "patient unwell")
    page = _text(client.get(response.headers["Location"]))
    assert "Cancelled Preparation session 1 for ALD-0001." in page
    assert 'data-testid="appointment"' not in page


def test_cancelling_is_not_offered_to_a_therapist_and_unknown_to_oscar(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    appointment = _book_directly(cast, _prep1(course), therapy)
    path = f"/appointments/{appointment.public_id}/cancel/"
    assert "Cancel the appointment" not in _text(client_for(cast.alice).get(path))
    assert client_for(cast.alice).post(path, {"reason": "mine"}).status_code == 403
    assert client_for(cast.oscar).post(path, {"reason": "mine"}).status_code == 404
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


# Rooms ------------------------------------------------------------------------------------------
def test_a_site_admin_adds_a_room(cast: Cast) -> None:
    path = f"/sites/{cast.site_a.public_id}/rooms/"
    client = client_for(cast.morgan)
    assert "Add a room" in _text(client.get(path))
    response = client.post(path, {"name": "Cedar room", "kind": "therapy"})
    assert response.status_code == 302
    room = Room.objects.get()
    assert (room.site, room.name, room.kind) == (cast.site_a, "Cedar room", "therapy")
    page = _text(client.get(path))
    assert "Added Cedar room." in page
    assert "Therapy room" in page


def test_a_duplicate_room_name_is_shown_at_the_field(cast: Cast) -> None:
    _setup(cast)
    response = client_for(cast.morgan).post(
        f"/sites/{cast.site_a.public_id}/rooms/", {"name": "Willow room", "kind": "therapy"}
    )
    assert response.status_code == 422
    assert "this site already has a room with this name" in _text(response)
    assert Room.objects.count() == 2


def test_only_a_site_admin_is_offered_adding_rooms(cast: Cast) -> None:
    _setup(cast)
    path = f"/sites/{cast.site_a.public_id}/rooms/"
    page = _text(client_for(cast.carmen).get(path))
    assert "Willow room" in page
    assert "Add a room" not in page
    assert client_for(cast.carmen).post(path, {"name": "Cedar room", "kind": "therapy"}).status_code == 403
    assert client_for(cast.oscar).get(path).status_code == 404
    assert Room.objects.count() == 2


# Calendar feeds ---------------------------------------------------------------------------------
def test_a_feed_url_is_shown_once_and_works_without_login_until_revoked(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    _book_directly(cast, _prep1(course), therapy)
    client = client_for(cast.alice)
    response = client.post("/account/calendar-feed/")
    assert response.status_code == 200
    match = re.search(
        r'data-testid="feed-url">http://testserver(/calendar/hvc_[\w-]+\.ics)<', _text(response)
    )
    assert match is not None
    path = match.group(1)
    assert 'data-testid="feed-url"' not in _text(client.get("/account/calendar-feed/"))
    feed = Client().get(path)
    assert feed.status_code == 200
    assert feed["Content-Type"] == "text/calendar; charset=utf-8"
    text = feed.content.decode()
    assert "SUMMARY:ALD-0001: Preparation session 1" in text
    assert "X-WR-CALNAME:Haven: Dr Alice Adams" in text
    token = CalendarFeedToken.objects.get()
    revoked = client.post(f"/account/calendar-feed/{token.public_id}/revoke/")
    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Client().get(path).status_code == 404


def test_nobody_else_revokes_my_feed_url(cast: Cast) -> None:
    client_for(cast.alice).post("/account/calendar-feed/")
    token = CalendarFeedToken.objects.get()
    assert client_for(cast.ben).post(f"/account/calendar-feed/{token.public_id}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_feed_page_needs_login(cast: Cast) -> None:
    assert Client().post("/account/calendar-feed/").status_code == 302
    assert not CalendarFeedToken.objects.exists()
