"""The session room, board, timeline, emergency and on-call pages through the Django client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from haven.accounts.models import Role
from haven.core.testing import (
    PASSWORD,
    Cast,
    actor_of,
    client_for,
    make_credential,
    make_enrolled_course,
    otp_code,
)
from haven.dosing import services
from haven.dosing.models import Alert, DosingSession, Emergency, EquipmentCheck, Observation, OnCallShift
from haven.patients.models import Visit

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _visit(cast: Cast) -> Visit:
    course = make_enrolled_course(cast, enrolled_on=date(2026, 10, 1))
    make_credential(cast.alice, cast.site_a)
    make_credential(cast.ben, cast.site_a, identifier="PSY-2")
    return Visit.objects.get(course=course, code="dose1")


def _dosed(cast: Cast) -> DosingSession:
    visit = _visit(cast)
    alice = actor_of(cast.alice)
    session = services.session_open(actor=alice, visit=visit)
    for item in ("vitals", "pregnancy", "medications", "cssrs", "escort", "touch-consent", "equipment"):
        services.checklist_answer(actor=alice, session=session, code=item, done=True)
    services.presence_check_in(
        actor=alice, session=session, user=cast.alice, role=Role.THERAPIST, is_lead=True
    )
    services.presence_check_in(actor=alice, session=session, user=cast.ben, role=Role.THERAPIST)
    services.vitals_record(
        actor=alice,
        session=session,
        values={"systolic_bp": (122, "mm[Hg]"), "heart_rate": (70, "/min"), "suds": (4, "{score}")},
        observed_at=T0 - timedelta(minutes=15),
    )
    services.dose_administer(
        actor=alice,
        session=session,
        kind="initial",
        amount=Decimal(120),
        lot="MDMA-2611-A",
        administered_at=T0,
        witness=cast.ben,
        witness_password=PASSWORD,
        witness_otp_code=otp_code(cast.ben),
    )
    return DosingSession.objects.get(pk=session.pk)


def test_a_dosing_visit_opens_its_session_room_and_the_room_walks_through_the_checklist(
    cast: Cast, clock: Any
) -> None:
    visit = _visit(cast)
    client = client_for(cast.alice)
    page = client.get(f"/visits/{visit.public_id}/").content.decode()
    assert "Start the dosing session" in page
    response = client.post(f"/visits/{visit.public_id}/session/")
    session = DosingSession.objects.get(visit=visit)
    assert response["Location"] == f"/sessions/{session.public_id}/"
    room = client.get(f"/sessions/{session.public_id}/").content.decode()
    assert "Negative urine pregnancy test today" in room
    assert "Medical emergency" in room
    client.post(f"/sessions/{session.public_id}/checklist/", {"code": "pregnancy", "done": "1"})
    assert services.checklist_open_items(session)[:2] == ["vitals", "medications"]
    # A second start lands in the same room rather than failing.
    assert client.post(f"/visits/{visit.public_id}/session/")["Location"] == f"/sessions/{session.public_id}/"


def test_vitals_from_the_tablet_form_are_stored_in_ucum_and_bad_values_name_the_field(
    cast: Cast, clock: Any
) -> None:
    session = _dosed(cast)
    client = client_for(cast.alice)
    url = f"/sessions/{session.public_id}/vitals/"
    refused = client.post(url, {"heart_rate": "300", "temperature_unit": "Cel"})
    assert refused.status_code == 422
    assert "300 /min is not possible (accepted 20–250 /min)" in refused.content.decode()
    assert Observation.objects.filter(session=session, parameter="heart_rate").count() == 1
    stored = client.post(
        url, {"heart_rate": "142", "temperature": "100.4", "temperature_unit": "[degF]", "suds": "6"}
    )
    assert stored.status_code == 302
    temperature = Observation.objects.get(session=session, parameter="temperature")
    assert (temperature.value, temperature.unit) == (Decimal("38.00"), "Cel")
    assert Alert.objects.filter(session=session, parameter="heart_rate", status="open").count() == 1
    room = client.get(f"/sessions/{session.public_id}/").content.decode()
    assert "Heart rate" in room
    assert "142" in room


def test_the_refusal_of_an_impossible_value_is_shown_beside_its_field(cast: Cast, clock: Any) -> None:
    session = _dosed(cast)
    response = client_for(cast.alice).post(
        f"/sessions/{session.public_id}/vitals/", {"heart_rate": "300", "temperature_unit": "Cel"}
    )
    assert response.status_code == 422
    body = response.content.decode()
    field = body[body.index('id="id_heart_rate"') :]
    assert "field-error" in field[:600]


def test_the_board_lists_active_sessions_and_an_alert_is_acknowledged_from_it(cast: Cast, clock: Any) -> None:
    session = _dosed(cast)
    services.vitals_record(
        actor=actor_of(cast.alice), session=session, values={"systolic_bp": (190, "mm[Hg]")}, observed_at=T0
    )
    alert = Alert.objects.get(session=session, parameter="systolic_bp", kind="limit")
    client = client_for(cast.ben)
    board = client.get(f"/sites/{cast.site_a.public_id}/board/").content.decode()
    assert session.course.patient.study_id in board
    assert alert.message in board
    assert f"/sites/{cast.site_a.public_id}/board/events" in board
    response = client.post(
        f"/alerts/{alert.public_id}/acknowledge/", {"action": "remeasured", "next": "board"}
    )
    assert response["Location"] == f"/sites/{cast.site_a.public_id}/board/"
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.action) == ("acknowledged", cast.ben, "remeasured")
    assert client_for(cast.oscar).get(f"/sites/{cast.site_a.public_id}/board/").status_code == 404
    assert client_for(cast.riley).get(f"/sites/{cast.site_a.public_id}/board/").status_code == 403
    assert client_for(cast.riley).get(f"/sessions/{session.public_id}/").status_code == 404


def test_the_event_stream_needs_a_person_of_the_site(cast: Cast, clock: Any) -> None:
    url = f"/sites/{cast.site_a.public_id}/board/events"
    from django.test import Client

    assert Client().get(url).status_code == 401
    assert client_for(cast.oscar).get(url).status_code == 404


def test_the_timeline_puts_doses_vitals_alerts_presence_and_emergencies_in_order(
    cast: Cast, clock: Any
) -> None:
    session = _dosed(cast)
    clock.move_to(T0 + timedelta(minutes=40))
    services.vitals_record(
        actor=actor_of(cast.alice),
        session=session,
        values={"heart_rate": (150, "/min")},
        observed_at=T0 + timedelta(minutes=40),
    )
    emergency = services.emergency_declare(actor=actor_of(cast.alice), session=session)
    services.emergency_event_add(
        actor=actor_of(cast.alice),
        emergency=emergency,
        kind="ems_called",
        at=T0 + timedelta(minutes=40),
        detail="Ambulance called",
    )
    page = client_for(cast.avery).get(f"/sessions/{session.public_id}/timeline/").content.decode()
    order = [
        page.index("Check pregnancy confirmed"),
        page.index("Initial dose 120 mg"),
        page.index("Heart rate 150 /min"),
        page.index("MEDICAL EMERGENCY declared"),
        page.index("Emergency services called: Ambulance called"),
    ]
    assert order == sorted(order)


def test_the_emergency_page_takes_events_and_only_a_physician_closes_it(cast: Cast, clock: Any) -> None:
    session = _dosed(cast)
    client = client_for(cast.alice)
    response = client.post(f"/sessions/{session.public_id}/emergency/")
    emergency = Emergency.objects.get(session=session)
    assert response["Location"] == f"/emergencies/{emergency.public_id}/"
    page = client.get(response["Location"]).content.decode()
    assert "Automated external defibrillator (AED)" in page
    assert "Sign and close" not in page
    refused = client.post(
        f"/emergencies/{emergency.public_id}/events/", {"kind": "transfer", "detail": "Ambulance"}
    )
    assert refused.status_code == 422
    assert "name the hospital the patient is transferred to" in refused.content.decode()
    client.post(
        f"/emergencies/{emergency.public_id}/events/",
        {"kind": "transfer", "detail": "Ambulance", "place": "St Mary's ED"},
    )
    doctor = client_for(cast.priya)
    assert "Sign and close" in doctor.get(f"/emergencies/{emergency.public_id}/").content.decode()
    closed = doctor.post(
        f"/emergencies/{emergency.public_id}/close/",
        {
            "summary": "Transferred; stable on arrival.",
            "password": PASSWORD,
            "otp_code": otp_code(cast.priya),
        },
    )
    assert closed.status_code == 302
    emergency.refresh_from_db()
    assert (emergency.status, emergency.summary) == ("closed", "Transferred; stable on arrival.")


def test_the_rota_page_adds_shifts_in_site_time_and_records_equipment_checks(cast: Cast, clock: Any) -> None:
    client = client_for(cast.carmen)
    url = f"/sites/{cast.site_a.public_id}/on-call/"
    assert "escalations go to every physician" in client.get(url).content.decode()
    response = client.post(
        f"{url}shifts/",
        {
            "physician": str(cast.priya.public_id),
            "starts_at": "2026-11-25T08:00",
            "ends_at": "2026-11-25T20:00",
        },
    )
    assert response.status_code == 302
    shift = OnCallShift.objects.get()
    local_start = datetime(2026, 11, 25, 8, 0, tzinfo=ZoneInfo(cast.site_a.time_zone))
    assert shift.starts_at == local_start  # entered as the site's wall-clock time
    refused = client.post(
        f"{url}shifts/",
        {
            "physician": str(cast.priya.public_id),
            "starts_at": "2026-11-25T20:00",
            "ends_at": "2026-11-25T08:00",
        },
    )
    assert refused.status_code == 422
    assert "must be after the start" in refused.content.decode()
    client.post(f"/sites/{cast.site_a.public_id}/equipment/", {"item": "Pulse oximeter", "ok": "1"})
    client.post(f"/sites/{cast.site_a.public_id}/equipment/", {"item": "Oxygen supply", "ok": "0"})
    assert [(c.item, c.ok) for c in EquipmentCheck.objects.all()] == [("Pulse oximeter", True)]
