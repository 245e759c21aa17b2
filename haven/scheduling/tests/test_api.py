"""The scheduling API: rooms, checking and booking, cancelling, calendars and feed URLs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from haven.audit.models import AuditEntry
from haven.core.testing import Cast, actor_of, client_for, make_credential, make_enrolled_course
from haven.patients.models import EnrollmentCourse, Visit
from haven.scheduling.models import Appointment, AppointmentStatus, CalendarFeedToken, Room
from haven.scheduling.services import room_create

pytestmark = pytest.mark.django_db
CHICAGO = ZoneInfo("America/Chicago")
ENROLLED = date(2026, 11, 20)
DAY = date(2026, 11, 27)  # prep1's target; its window is 2026-11-24 to 2026-12-04


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with time_machine.travel(datetime(2026, 11, 25, 15, 0, tzinfo=UTC), tick=True):
        yield


def _at(day: date, hour: int, minutes: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minutes, tzinfo=CHICAGO).isoformat()


def _setup(cast: Cast) -> tuple[EnrollmentCourse, Room, Room]:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    therapy = room_create(actor=actor_of(cast.morgan), site=cast.site_a, name="Willow room", kind="therapy")
    suite = room_create(actor=actor_of(cast.morgan), site=cast.site_a, name="Dosing suite 1", kind="dosing")
    make_credential(cast.alice, cast.site_a)
    make_credential(cast.ben, cast.site_a, identifier="PSY-77", valid_until=date(2026, 12, 1))
    return course, therapy, suite


def _prep1(course: EnrollmentCourse) -> Visit:
    return Visit.objects.get(course=course, code="prep1")


def _dyad(cast: Cast) -> list[dict[str, Any]]:
    return [
        {"user_id": str(cast.alice.public_id), "role": "therapist", "is_lead": True},
        {"user_id": str(cast.ben.public_id), "role": "therapist"},
    ]


def _booking(
    cast: Cast, room: Room | None, start: int = 10, end: int = 11, day: date = DAY, **more: Any
) -> dict[str, Any]:
    return {
        "room_id": str(room.public_id) if room else None,
        "starts_at": _at(day, start),
        "ends_at": _at(day, end),
        "staff": _dyad(cast),
    } | more


def _post(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, data=json.dumps(body or {}), content_type="application/json")


def _book(client: Client, visit: Visit, body: dict[str, Any]) -> Any:
    return _post(client, f"/api/v1/visits/{visit.public_id}/appointments", body)


def _not_found(response: Any) -> None:
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"
    assert set(response.json()) == {"code", "message", "fields"}


# Rooms ------------------------------------------------------------------------------------------
def test_a_site_admin_adds_a_room_and_everyone_at_the_site_lists_it(cast: Cast) -> None:
    path = f"/api/v1/sites/{cast.site_a.public_id}/rooms"
    response = _post(client_for(cast.morgan), path, {"name": " Cedar room ", "kind": "therapy"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Cedar room"
    assert body["kind"] == "therapy"
    assert body["site_id"] == str(cast.site_a.public_id)
    room = Room.objects.get(public_id=body["id"])
    assert (room.site, room.name) == (cast.site_a, "Cedar room")
    listed = client_for(cast.alice).get(path).json()
    assert [r["name"] for r in listed] == ["Cedar room"]


def test_only_a_site_admin_adds_rooms(cast: Cast) -> None:
    path = f"/api/v1/sites/{cast.site_a.public_id}/rooms"
    response = _post(client_for(cast.carmen), path, {"name": "Cedar room", "kind": "therapy"})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Room.objects.exists()


def test_a_room_of_unknown_kind_is_invalid_input(cast: Cast) -> None:
    path = f"/api/v1/sites/{cast.site_a.public_id}/rooms"
    response = _post(client_for(cast.morgan), path, {"name": "Cedar room", "kind": "ballroom"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["fields"]) == ["kind"]
    assert not Room.objects.exists()


def test_a_duplicate_room_name_names_the_field(cast: Cast) -> None:
    _setup(cast)
    path = f"/api/v1/sites/{cast.site_a.public_id}/rooms"
    response = _post(client_for(cast.morgan), path, {"name": "willow ROOM", "kind": "therapy"})
    assert response.status_code == 422
    assert response.json()["fields"] == {"name": ["this site already has a room with this name"]}
    assert Room.objects.count() == 2


def test_oscar_gets_a_404_for_another_sites_rooms(cast: Cast) -> None:
    _setup(cast)
    path = f"/api/v1/sites/{cast.site_a.public_id}/rooms"
    _not_found(client_for(cast.oscar).get(path))
    _not_found(_post(client_for(cast.oscar), path, {"name": "Mine now", "kind": "therapy"}))
    assert Room.objects.count() == 2


# Authentication ---------------------------------------------------------------------------------
def test_every_operation_needs_authentication(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    visit = _prep1(course)
    anonymous = Client()
    site = cast.site_a.public_id
    responses = [
        anonymous.get(f"/api/v1/sites/{site}/rooms"),
        anonymous.get(f"/api/v1/sites/{site}/calendar?first=2026-11-27"),
        _post(anonymous, f"/api/v1/visits/{visit.public_id}/appointments/check", _booking(cast, therapy)),
        _book(anonymous, visit, _booking(cast, therapy)),
        _post(anonymous, "/api/v1/calendar-feeds"),
    ]
    for response in responses:
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
    assert not Appointment.objects.exists()
    assert not CalendarFeedToken.objects.exists()


# Checking and booking ---------------------------------------------------------------------------
def test_the_check_lists_conflicts_and_saves_nothing(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    other = make_enrolled_course(cast, enrolled_on=ENROLLED)
    client = client_for(cast.carmen)
    assert _book(client, _prep1(course), _booking(cast, therapy, 10, 11)).status_code == 201
    response = _post(
        client,
        f"/api/v1/visits/{_prep1(other).public_id}/appointments/check",
        _booking(cast, therapy, 10, 12),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is False
    assert set(body["problems"]) == {"room", "staff"}
    assert body["problems"]["room"][0].startswith("Willow room is booked")
    assert any(m.startswith("Dr Alice Adams is booked") for m in body["problems"]["staff"])
    assert body["warnings"] == []
    assert Appointment.objects.count() == 1


def test_the_check_warns_outside_the_window(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    path = f"/api/v1/visits/{_prep1(course).public_id}/appointments/check"
    body = _post(client_for(cast.carmen), path, _booking(cast, therapy, day=date(2026, 12, 7))).json()
    assert body["ok"] is True
    assert body["problems"] == {}
    assert body["warnings"] == [
        "2026-12-07 is outside the visit's window (2026-11-24 to 2026-12-04); a reason is needed"
    ]


def test_booking_saves_the_appointment_and_answers_with_it(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    visit = _prep1(course)
    response = _book(client_for(cast.carmen), visit, _booking(cast, therapy, 10, 11))
    assert response.status_code == 201, response.content
    body = response.json()
    appointment = Appointment.objects.get()
    assert body["id"] == str(appointment.public_id)
    assert body["visit"] == {"id": str(visit.public_id), "code": "prep1", "name": "Preparation session 1"}
    assert body["study_id"] == course.patient.study_id == "ALD-0001"
    assert body["room"] == {"id": str(therapy.public_id), "name": "Willow room"}
    assert body["status"] == "booked"
    assert datetime.fromisoformat(body["starts_at"]) == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert datetime.fromisoformat(body["ends_at"]) == datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert body["staff"] == [
        {
            "user_id": str(cast.alice.public_id),
            "printed_name": "Dr Alice Adams",
            "role": "therapist",
            "is_lead": True,
        },
        {
            "user_id": str(cast.ben.public_id),
            "printed_name": "Ben Okafor",
            "role": "therapist",
            "is_lead": False,
        },
    ]
    assert appointment.visit == visit
    assert appointment.room == therapy
    assert appointment.booked_by == cast.carmen
    assert sorted(appointment.staff.values_list("user__username", "role", "is_lead")) == [
        ("alice", "therapist", True),
        ("ben", "therapist", False),
    ]
    assert AuditEntry.objects.filter(record_type="scheduling.appointment", action="create").count() == 1


def test_a_booking_appears_in_the_sites_calendar(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    client = client_for(cast.carmen)
    booked = _book(client, _prep1(course), _booking(cast, therapy, 10, 11)).json()
    path = f"/api/v1/sites/{cast.site_a.public_id}/calendar"
    assert [a["id"] for a in client_for(cast.alice).get(f"{path}?first=2026-11-27").json()] == [booked["id"]]
    assert client.get(f"{path}?first=2026-11-28").json() == []
    week = client.get(f"{path}?first=2026-11-23&days=7&room_id={therapy.public_id}").json()
    assert [a["study_id"] for a in week] == ["ALD-0001"]
    assert client.get(f"{path}?first=2026-11-27&user_id={cast.priya.public_id}").json() == []
    assert len(client.get(f"{path}?first=2026-11-27&user_id={cast.ben.public_id}").json()) == 1


def test_a_double_booking_answers_422_booking_conflict_naming_the_room(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    other = make_enrolled_course(cast, enrolled_on=ENROLLED)
    client = client_for(cast.carmen)
    assert _book(client, _prep1(course), _booking(cast, therapy, 10, 11)).status_code == 201
    second = _booking(cast, therapy, 10, 11) | {
        "staff": [{"user_id": str(cast.priya.public_id), "role": "physician"}]
    }
    response = _book(client, _prep1(other), second)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "booking_conflict"
    assert "room" in body["fields"]
    assert body["fields"]["room"][0].startswith("Willow room is booked")
    assert Appointment.objects.count() == 1
    assert not Appointment.objects.filter(visit=_prep1(other)).exists()


def test_booking_outside_the_window_needs_a_reason(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    client = client_for(cast.carmen)
    late = _booking(cast, therapy, day=date(2026, 12, 7))
    refused = _book(client, _prep1(course), late)
    assert refused.status_code == 422
    assert list(refused.json()["fields"]) == ["outside_window_reason"]
    assert not Appointment.objects.exists()
    booked = _book(client, _prep1(course), late | {"outside_window_reason": "patient travelling"})
    assert booked.status_code == 201
    assert booked.json()["outside_window_reason"] == "patient travelling"
    assert Appointment.objects.get().outside_window_reason == "patient travelling"


def test_a_therapist_cannot_book(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    response = _book(client_for(cast.alice), _prep1(course), _booking(cast, therapy))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Appointment.objects.exists()


def test_oscar_gets_a_404_for_another_sites_visit(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    visit = _prep1(course)
    client = client_for(cast.oscar)
    _not_found(_post(client, f"/api/v1/visits/{visit.public_id}/appointments/check", _booking(cast, therapy)))
    _not_found(_book(client, visit, _booking(cast, therapy)))
    assert not Appointment.objects.exists()


def test_someone_from_another_site_is_invalid_staff(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    body = _booking(cast, therapy) | {
        "staff": [*_dyad(cast), {"user_id": str(cast.oscar.public_id), "role": "therapist"}]
    }
    response = _book(client_for(cast.carmen), _prep1(course), body)
    assert response.status_code == 422
    assert response.json()["fields"] == {"staff.2.user_id": ["is not staff of this site"]}
    assert not Appointment.objects.exists()


def test_a_person_picked_twice_is_invalid_staff(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    twice = [*_dyad(cast), {"user_id": str(cast.alice.public_id), "role": "therapist"}]
    response = _book(client_for(cast.carmen), _prep1(course), _booking(cast, therapy) | {"staff": twice})
    assert response.status_code == 422
    assert response.json()["fields"] == {"staff.2.user_id": ["this person is already picked"]}
    assert not Appointment.objects.exists()


def test_a_room_of_another_site_is_invalid_input(cast: Cast) -> None:
    course, _, _ = _setup(cast)
    birch = room_create(actor=actor_of(cast.oscar), site=cast.site_b, name="Birch room", kind="therapy")
    response = _book(client_for(cast.carmen), _prep1(course), _booking(cast, birch))
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["room_id"]
    assert not Appointment.objects.exists()


def test_times_without_an_offset_are_refused(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    body = _booking(cast, therapy) | {"starts_at": "2026-11-27T10:00:00", "ends_at": "2026-11-27T11:00:00"}
    response = _book(client_for(cast.carmen), _prep1(course), body)
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"starts_at", "ends_at"}
    assert not Appointment.objects.exists()


# Cancelling -------------------------------------------------------------------------------------
def test_cancelling_needs_a_reason_and_frees_the_room(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    client = client_for(cast.carmen)
    booked = _book(client, _prep1(course), _booking(cast, therapy)).json()
    path = f"/api/v1/appointments/{booked['id']}/cancel"
    refused = _post(client, path, {"reason": "  "})
    assert refused.status_code == 422
    assert refused.json()["code"] == "reason_required"
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED
    response = _post(client, path, {"reason": "patient unwell"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_reason"] == "patient unwell"
    appointment = Appointment.objects.get()
    assert (appointment.status, appointment.cancel_reason) == ("cancelled", "patient unwell")
    again = _post(client, path, {"reason": "twice"})
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    calendar = client.get(f"/api/v1/sites/{cast.site_a.public_id}/calendar?first=2026-11-27").json()
    assert calendar == []


def test_cancelling_is_refused_to_a_therapist_and_unknown_to_oscar(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    booked = _book(client_for(cast.carmen), _prep1(course), _booking(cast, therapy)).json()
    path = f"/api/v1/appointments/{booked['id']}/cancel"
    assert _post(client_for(cast.alice), path, {"reason": "mine"}).status_code == 403
    _not_found(_post(client_for(cast.oscar), path, {"reason": "mine"}))
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


# Calendar ---------------------------------------------------------------------------------------
def test_an_invalid_calendar_date_is_a_validation_error(cast: Cast) -> None:
    path = f"/api/v1/sites/{cast.site_a.public_id}/calendar"
    response = client_for(cast.carmen).get(f"{path}?first=2026-02-30")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["fields"]) == ["first"]


@pytest.mark.parametrize("days", ["0", "32", "many"])
def test_calendar_spans_are_one_to_31_days(cast: Cast, days: str) -> None:
    path = f"/api/v1/sites/{cast.site_a.public_id}/calendar"
    response = client_for(cast.carmen).get(f"{path}?first=2026-11-27&days={days}")
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["days"]


def test_calendar_filters_must_name_this_sites_room_and_staff(cast: Cast) -> None:
    _setup(cast)
    birch = room_create(actor=actor_of(cast.oscar), site=cast.site_b, name="Birch room", kind="therapy")
    path = f"/api/v1/sites/{cast.site_a.public_id}/calendar?first=2026-11-27"
    client = client_for(cast.carmen)
    assert list(client.get(f"{path}&room_id={birch.public_id}").json()["fields"]) == ["room_id"]
    assert list(client.get(f"{path}&user_id={cast.oscar.public_id}").json()["fields"]) == ["user_id"]


def test_oscar_gets_a_404_for_another_sites_calendar(cast: Cast) -> None:
    _not_found(client_for(cast.oscar).get(f"/api/v1/sites/{cast.site_a.public_id}/calendar"))


def test_the_calendar_defaults_to_today_at_the_site(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    client = client_for(cast.carmen)
    # 2026-11-25 15:00 UTC is 09:00 in Chicago; book later that same local day.
    body = _booking(cast, therapy, 16, 17, day=date(2026, 11, 25))
    assert _book(client, _prep1(course), body).status_code == 201
    listed = client.get(f"/api/v1/sites/{cast.site_a.public_id}/calendar").json()
    assert [a["visit"]["code"] for a in listed] == ["prep1"]


# Calendar feeds ---------------------------------------------------------------------------------
def _feed_path(url: str) -> str:
    assert url.startswith("http://testserver/calendar/hvc_")
    assert url.endswith(".ics")
    return url.removeprefix("http://testserver")


def test_a_feed_url_works_without_login_until_revoked(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    client = client_for(cast.alice)
    assert _book(client_for(cast.carmen), _prep1(course), _booking(cast, therapy)).status_code == 201
    created = _post(client, "/api/v1/calendar-feeds")
    assert created.status_code == 201, created.content
    token = CalendarFeedToken.objects.get()
    assert created.json()["id"] == str(token.public_id)
    assert token.user == cast.alice
    path = _feed_path(created.json()["url"])
    assert token.secret_hash not in path  # only the hash is kept, never the secret itself
    feed = Client().get(path)
    assert feed.status_code == 200
    assert feed["Content-Type"] == "text/calendar; charset=utf-8"
    text = feed.content.decode()
    assert "SUMMARY:ALD-0001: Preparation session 1" in text
    assert "Jordan" not in text
    listed = client.get("/api/v1/calendar-feeds").json()
    assert [f["id"] for f in listed] == [str(token.public_id)]
    assert listed[0]["last_used_at"] is not None
    revoked = _post(client, f"/api/v1/calendar-feeds/{token.public_id}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Client().get(path).status_code == 404


def test_nobody_else_revokes_my_feed(cast: Cast) -> None:
    client = client_for(cast.alice)
    feed_id = _post(client, "/api/v1/calendar-feeds").json()["id"]
    _not_found(_post(client_for(cast.ben), f"/api/v1/calendar-feeds/{feed_id}/revoke"))
    assert client_for(cast.ben).get("/api/v1/calendar-feeds").json() == []
    assert CalendarFeedToken.objects.get().revoked_at is None


def test_an_unknown_feed_url_is_not_found(cast: Cast) -> None:
    assert Client().get("/calendar/hvc_nothing-like-a-secret.ics").status_code == 404
