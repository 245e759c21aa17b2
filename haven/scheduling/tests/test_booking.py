"""Booking visits: conflicts, staffing, licences, spacing, windows, races, calendars, iCal."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connections

from haven.accounts.models import Role
from haven.audit.models import AuditEntry
from haven.core.errors import PermissionDenied, ValidationFailed
from haven.core.testing import (
    Cast,
    actor_of,
    client_for,
    grant,
    make_cast,
    make_credential,
    make_enrolled_course,
    make_user,
)
from haven.patients.models import EnrollmentCourse, Visit
from haven.scheduling.ical import appointments_ical
from haven.scheduling.models import Appointment, Room
from haven.scheduling.selectors import calendar, person_appointments
from haven.scheduling.services import (
    StaffPick,
    appointment_book,
    appointment_cancel,
    appointment_check,
    calendar_feed_create,
    calendar_feed_revoke,
    calendar_feed_user,
    room_create,
)

pytestmark = pytest.mark.django_db
CHICAGO = ZoneInfo("America/Chicago")
ENROLLED = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with time_machine.travel(datetime(2026, 11, 25, 15, 0, tzinfo=UTC), tick=True):
        yield


def _at(day: date, hour: int, minutes: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minutes, tzinfo=CHICAGO)


def _setup(cast: Cast) -> tuple[EnrollmentCourse, Room, Room]:
    course = make_enrolled_course(cast, enrolled_on=ENROLLED)
    therapy = room_create(actor=actor_of(cast.morgan), site=cast.site_a, name="Willow room", kind="therapy")
    suite = room_create(actor=actor_of(cast.morgan), site=cast.site_a, name="Dosing suite 1", kind="dosing")
    make_credential(cast.alice, cast.site_a)  # valid 2025-01-01 to 2027-12-31
    make_credential(cast.ben, cast.site_a, identifier="PSY-77", valid_until=date(2026, 12, 1))
    return course, therapy, suite


def _dyad(cast: Cast) -> list[StaffPick]:
    return [StaffPick(cast.alice, Role.THERAPIST, is_lead=True), StaffPick(cast.ben, Role.THERAPIST)]


def _visit(course: EnrollmentCourse, code: str) -> Visit:
    return Visit.objects.get(course=course, code=code)


def test_booking_a_preparation_visit_inside_its_window(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    prep1 = _visit(course, "prep1")  # target 2026-11-27, window 11-24 to 12-04
    appointment = appointment_book(
        actor=actor_of(cast.carmen),
        visit=prep1,
        room=therapy,
        starts_at=_at(date(2026, 11, 27), 10),
        ends_at=_at(date(2026, 11, 27), 11, 30),
        staff=_dyad(cast),
    )
    assert appointment.outside_window_reason == ""
    assert sorted(appointment.staff.values_list("user__username", "is_lead")) == [
        ("alice", True),
        ("ben", False),
    ]
    assert AuditEntry.objects.filter(action="create", record_type="scheduling.appointment").count() == 1


def test_a_room_cannot_be_double_booked(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    other = make_enrolled_course(cast, enrolled_on=ENROLLED, patient=None)
    day = date(2026, 11, 27)
    appointment_book(
        actor=actor_of(cast.carmen),
        visit=_visit(course, "prep1"),
        room=therapy,
        starts_at=_at(day, 10),
        ends_at=_at(day, 11, 30),
        staff=_dyad(cast),
    )
    with pytest.raises(ValidationFailed) as refused:
        appointment_book(
            actor=actor_of(cast.carmen),
            visit=_visit(other, "prep1"),
            room=therapy,
            starts_at=_at(day, 11),
            ends_at=_at(day, 12),
            staff=[StaffPick(cast.priya, Role.PHYSICIAN)],
        )
    assert refused.value.code == "booking_conflict"
    assert any("Willow room is booked 10:00–11:30" in m for m in refused.value.fields["room"])
    assert Appointment.objects.count() == 1


def test_a_person_cannot_be_in_two_places(cast: Cast) -> None:
    course, therapy, suite = _setup(cast)
    other = make_enrolled_course(cast, enrolled_on=ENROLLED)
    day = date(2026, 11, 27)
    appointment_book(
        actor=actor_of(cast.carmen),
        visit=_visit(course, "prep1"),
        room=therapy,
        starts_at=_at(day, 10),
        ends_at=_at(day, 11, 30),
        staff=_dyad(cast),
    )
    check = appointment_check(
        visit=_visit(other, "prep1"),
        room=suite,
        starts_at=_at(day, 11),
        ends_at=_at(day, 12, 30),
        staff=_dyad(cast),
    )
    assert "Dr Alice Adams is booked 10:00–11:30" in check.problems["staff"]
    assert "Ben Okafor is booked 10:00–11:30" in check.problems["staff"]


def test_back_to_back_bookings_do_not_conflict(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    other = make_enrolled_course(cast, enrolled_on=ENROLLED)
    day = date(2026, 11, 27)
    appointment_book(
        actor=actor_of(cast.carmen),
        visit=_visit(course, "prep1"),
        room=therapy,
        starts_at=_at(day, 10),
        ends_at=_at(day, 11),
        staff=_dyad(cast),
    )
    appointment_book(
        actor=actor_of(cast.carmen),
        visit=_visit(other, "prep1"),
        room=therapy,
        starts_at=_at(day, 11),
        ends_at=_at(day, 12),
        staff=_dyad(cast),
    )
    assert Appointment.objects.count() == 2


def test_a_visit_needs_the_protocols_staff(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    day = date(2026, 11, 27)
    check = appointment_check(
        visit=_visit(course, "prep1"),
        room=therapy,
        starts_at=_at(day, 10),
        ends_at=_at(day, 11),
        staff=[StaffPick(cast.alice, Role.THERAPIST)],
    )
    assert check.problems["staff"] == [
        "this visit needs 2 therapist(s); 1 chosen",
        "one therapist must be the lead",
    ]


def test_a_dosing_session_needs_licences_valid_that_day(cast: Cast) -> None:
    course, _, suite = _setup(cast)
    dose1 = _visit(course, "dose1")  # target 2026-12-18; Ben's licence ends 2026-12-01
    check = appointment_check(
        visit=dose1,
        room=suite,
        starts_at=_at(date(2026, 12, 18), 9),
        ends_at=_at(date(2026, 12, 18), 17),
        staff=_dyad(cast),
    )
    assert check.problems == {"staff": ["Ben Okafor has no licence valid on 2026-12-18"]}


def test_dosing_sessions_keep_the_minimum_spacing(cast: Cast) -> None:
    course, _, suite = _setup(cast)
    make_credential(
        cast.ben, cast.site_a, identifier="PSY-78", valid_from=date(2026, 12, 1), valid_until=date(2028, 1, 1)
    )
    dose1, dose2 = _visit(course, "dose1"), _visit(course, "dose2")
    appointment_book(
        actor=actor_of(cast.carmen),
        visit=dose1,
        room=suite,
        starts_at=_at(date(2026, 12, 18), 9),
        ends_at=_at(date(2026, 12, 18), 17),
        staff=_dyad(cast),
    )
    check = appointment_check(
        visit=dose2,
        room=suite,
        starts_at=_at(date(2027, 1, 5), 9),
        ends_at=_at(date(2027, 1, 5), 17),
        staff=_dyad(cast),
    )
    assert (
        "dosing sessions must be at least 21 days apart; another is on 2026-12-18"
        in check.problems["starts_at"]
    )


def test_booking_outside_the_window_needs_a_reason(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    prep1 = _visit(course, "prep1")
    late = date(2026, 12, 7)
    with pytest.raises(ValidationFailed) as refused:
        appointment_book(
            actor=actor_of(cast.carmen),
            visit=prep1,
            room=therapy,
            starts_at=_at(late, 10),
            ends_at=_at(late, 11),
            staff=_dyad(cast),
        )
    assert (
        "outside the visit's window (2026-11-24 to 2026-12-04)"
        in refused.value.fields["outside_window_reason"][0]
    )
    booked = appointment_book(
        actor=actor_of(cast.carmen),
        visit=prep1,
        room=therapy,
        starts_at=_at(late, 10),
        ends_at=_at(late, 11),
        staff=_dyad(cast),
        outside_window_reason="patient travelling",
    )
    assert booked.outside_window_reason == "patient travelling"


def test_booking_in_the_past_is_refused(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    check = appointment_check(
        visit=_visit(course, "prep1"),
        room=therapy,
        starts_at=_at(date(2026, 11, 24), 10),
        ends_at=_at(date(2026, 11, 24), 11),
        staff=_dyad(cast),
    )
    assert check.problems["starts_at"] == ["is in the past"]


def test_only_booking_roles_book(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    with pytest.raises(PermissionDenied):
        appointment_book(
            actor=actor_of(cast.alice),
            visit=_visit(course, "prep1"),
            room=therapy,
            starts_at=_at(date(2026, 11, 27), 10),
            ends_at=_at(date(2026, 11, 27), 11),
            staff=_dyad(cast),
        )


def test_a_cancelled_appointment_frees_the_room(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    day = date(2026, 11, 27)
    booked = appointment_book(
        actor=actor_of(cast.carmen),
        visit=_visit(course, "prep1"),
        room=therapy,
        starts_at=_at(day, 10),
        ends_at=_at(day, 11),
        staff=_dyad(cast),
    )
    appointment_cancel(actor=actor_of(cast.carmen), appointment=booked, reason="patient unwell")
    assert appointment_check(
        visit=_visit(course, "prep1"),
        room=therapy,
        starts_at=_at(day, 10),
        ends_at=_at(day, 11),
        staff=_dyad(cast),
    ).ok


def test_calendars_by_site_room_and_person_use_the_sites_days(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    day = date(2026, 11, 27)
    # 23:00 in Chicago is the next day in UTC; it still belongs to the 27th here.
    booked = appointment_book(
        actor=actor_of(cast.carmen),
        visit=_visit(course, "prep1"),
        room=therapy,
        starts_at=_at(day, 22),
        ends_at=_at(day, 23),
        staff=_dyad(cast),
    )
    assert list(calendar(site=cast.site_a, first=day)) == [booked]
    assert list(calendar(site=cast.site_a, first=day + timedelta(days=1))) == []
    assert list(calendar(site=cast.site_a, first=date(2026, 11, 23), days=7, room=therapy)) == [booked]
    assert list(calendar(site=cast.site_a, first=day, person=cast.priya)) == []


def test_the_ical_feed_shows_study_ids_never_names(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    appointment_book(
        actor=actor_of(cast.carmen),
        visit=_visit(course, "prep1"),
        room=therapy,
        starts_at=_at(date(2026, 11, 27), 10),
        ends_at=_at(date(2026, 11, 27), 11),
        staff=_dyad(cast),
    )
    text = appointments_ical(
        person_appointments(user=cast.alice, since=datetime(2026, 11, 1, tzinfo=UTC)), owner="Alice"
    ).decode()
    assert "BEGIN:VEVENT" in text
    assert "SUMMARY:ALD-0001: Preparation session 1" in text
    assert "LOCATION:Willow room\\, Alder Clinic" in text
    assert "Jordan" not in text
    assert "Example" not in text


def test_a_calendar_feed_token_is_revocable(cast: Cast) -> None:
    token, secret = calendar_feed_create(actor=actor_of(cast.alice))
    assert calendar_feed_user(secret) == cast.alice
    calendar_feed_revoke(actor=actor_of(cast.alice), token=token)
    assert calendar_feed_user(secret) is None


def test_two_racing_bookings_of_one_room_never_both_succeed(transactional_db: None) -> None:
    cast = make_cast()
    course, therapy, _ = _setup(cast)
    other = make_enrolled_course(cast, enrolled_on=ENROLLED)
    day = date(2026, 11, 27)
    # A second dyad, so the only thing the two bookings compete for is the room.
    tess, theo = make_user("tess", "Tess Morgan"), make_user("theo", "Theo Park")
    grant(tess, cast.site_a, Role.THERAPIST)
    grant(theo, cast.site_a, Role.THERAPIST)
    results: list[str] = []
    start = threading.Barrier(2)

    def book(course: EnrollmentCourse, staff: list[StaffPick]) -> None:
        try:
            start.wait()
            appointment_book(
                actor=actor_of(cast.carmen),
                visit=_visit(course, "prep1"),
                room=therapy,
                starts_at=_at(day, 10),
                ends_at=_at(day, 11),
                staff=staff,
            )
            results.append("booked")
        except ValidationFailed as refused:
            results.append(f"{refused.code}: {', '.join(refused.fields)}")
        finally:
            connections.close_all()

    pairs = [
        (course, _dyad(cast)),
        (other, [StaffPick(tess, Role.THERAPIST, is_lead=True), StaffPick(theo, Role.THERAPIST)]),
    ]
    threads = [threading.Thread(target=book, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["booked", "booking_conflict: room"]
    assert Appointment.objects.count() == 1


def test_a_person_chosen_twice_is_a_clear_problem(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    day = date(2026, 11, 27)
    twice = [StaffPick(cast.alice, Role.THERAPIST, is_lead=True), StaffPick(cast.alice, Role.THERAPIST)]
    with pytest.raises(ValidationFailed) as refused:
        appointment_book(
            actor=actor_of(cast.carmen),
            visit=_visit(course, "prep1"),
            room=therapy,
            starts_at=_at(day, 10),
            ends_at=_at(day, 11),
            staff=twice,
        )
    assert "Dr Alice Adams is chosen twice" in refused.value.fields["staff"]
    assert not Appointment.objects.exists()


def test_bookings_and_cancellations_are_on_the_patients_timeline(cast: Cast) -> None:
    course, therapy, _ = _setup(cast)
    day = date(2026, 11, 27)
    booked = appointment_book(
        actor=actor_of(cast.carmen),
        visit=_visit(course, "prep1"),
        room=therapy,
        starts_at=_at(day, 10),
        ends_at=_at(day, 11),
        staff=_dyad(cast),
    )
    appointment_cancel(actor=actor_of(cast.carmen), appointment=booked, reason="patient unwell")
    chart = client_for(cast.carmen).get(f"/patients/{course.patient.public_id}/").content.decode()
    assert "Preparation session 1 booked for 2026-11-27 10:00, Willow room" in chart
    assert "Booking of Preparation session 1 cancelled: patient unwell" in chart
    api = client_for(cast.carmen).get(f"/api/v1/courses/{course.public_id}").json()
    assert [e["kind"] for e in api["timeline"]].count("appointment") == 2


def test_a_course_going_off_study_cancels_its_planned_visits_and_frees_their_bookings(cast: Cast) -> None:
    from haven.patients.models import VisitStatus
    from haven.patients.services import course_transition, visit_record_occurrence

    course, therapy, _ = _setup(cast)
    baseline = _visit(course, "baseline")
    visit_record_occurrence(actor=actor_of(cast.carmen), visit=baseline, occurred_on=date(2026, 11, 24))
    booked = appointment_book(
        actor=actor_of(cast.carmen),
        visit=_visit(course, "prep1"),
        room=therapy,
        starts_at=_at(date(2026, 11, 27), 10),
        ends_at=_at(date(2026, 11, 27), 11, 30),
        staff=_dyad(cast),
    )
    planned = Visit.objects.filter(course=course, status=VisitStatus.PLANNED).count()
    assert planned > 10
    course_transition(actor=actor_of(cast.priya), course=course, to="withdrawn", reason="moved away")
    visits = Visit.objects.filter(course=course)
    assert not visits.filter(status=VisitStatus.PLANNED).exists()
    assert visits.filter(status=VisitStatus.CANCELLED).count() == planned
    assert visits.get(pk=baseline.pk).status == VisitStatus.OCCURRED  # what took place keeps its record
    booked.refresh_from_db()
    assert (booked.status, booked.cancel_reason) == ("cancelled", "course off study: withdrawn")
    cancelled = AuditEntry.objects.filter(
        record_type="patients.visit", action="update", reason__startswith="course"
    )
    assert cancelled.count() == planned
    assert AuditEntry.objects.filter(
        record_type="scheduling.appointment", action="update", reason="course off study: withdrawn"
    ).exists()
