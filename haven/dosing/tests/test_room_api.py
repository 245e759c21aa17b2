"""The rest of the session room through the API: setting, timeline, emergencies, discharge, on-call
rota and equipment, with site isolation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from haven.core.testing import (
    PASSWORD,
    Cast,
    client_for,
    make_dosed_session,
    otp_code,
)
from haven.dosing.models import DosingSession, Emergency
from haven.scheduling.models import Room

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _send(client: Client, method: str, path: str, body: object | None = None) -> Any:
    return getattr(client, method)(
        f"/api/v1{path}", data=json.dumps(body) if body is not None else None, content_type="application/json"
    )


def _dosed(cast: Cast) -> DosingSession:
    return make_dosed_session(cast, dosed_at=T0)


def test_the_setting_is_recorded_and_bad_input_names_the_field(cast: Cast, clock: Any) -> None:
    session = _dosed(cast)
    client = client_for(cast.alice)
    room = Room.objects.create(site=cast.site_a, name="Cedar suite", kind="dosing")
    url = f"/sessions/{session.public_id}/setting"
    refused = _send(client, "put", url, {"video_recorded": False, "recording_reference": "vault://x"})
    assert refused.status_code == 422
    assert refused.json()["fields"] == {
        "video_recorded": ["a recording reference or retention needs video_recorded = yes"]
    }
    other = Room.objects.create(site=cast.site_b, name="Birch suite", kind="dosing")
    refused = _send(client, "put", url, {"room_id": str(other.public_id)})
    assert refused.json()["fields"] == {"room_id": ["not a room of this site"]}
    body = {
        "room_id": str(room.public_id),
        "playlist": "Session playlist v2",
        "eyeshades_offered": True,
        "video_recorded": True,
        "recording_reference": "vault://alder/2026/ALD-0001-dose1",
        "recording_retain_until": "2041-12-31",
    }
    stored = _send(client, "put", url, body)
    assert stored.status_code == 200
    assert stored.json() | {"room_id": None} == body | {"room_id": None, "room": "Cedar suite"}


def test_an_emergency_through_the_api_from_declaration_to_a_signed_close(cast: Cast, clock: Any) -> None:
    session = _dosed(cast)
    client = client_for(cast.ben)
    declared = _send(
        client, "post", f"/sessions/{session.public_id}/emergencies", {"description": "Chest pain"}
    )
    assert declared.status_code == 201
    body = declared.json()
    assert (body["status"], body["sae_review"], body["description"]) == ("open", True, "Chest pain")
    assert cast.priya.printed_name in body["notified"]
    eid = body["id"]
    again = _send(client, "post", f"/sessions/{session.public_id}/emergencies", {})
    assert again.json()["id"] == eid
    refused = _send(client, "post", f"/emergencies/{eid}/events", {"kind": "teleport", "detail": "x"})
    assert refused.status_code == 422
    assert list(refused.json()["fields"]) == ["kind"]
    added = _send(
        client,
        "post",
        f"/emergencies/{eid}/events",
        {"kind": "transfer", "detail": "Ambulance", "place": "County General ED"},
    )
    assert [e["place"] for e in added.json()["events"]] == ["County General ED"]
    assert (
        _send(client, "post", f"/emergencies/{eid}/close", {"summary": "x", "password": PASSWORD}).status_code
        == 403
    )
    doctor = client_for(cast.priya)
    closed = _send(
        doctor,
        "post",
        f"/emergencies/{eid}/close",
        {"summary": "Transferred, stable.", "password": PASSWORD, "otp_code": otp_code(cast.priya)},
    )
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["closed_by"]) == ("closed", cast.priya.printed_name)
    assert _send(client_for(cast.oscar), "get", f"/emergencies/{eid}").status_code == 404
    assert Emergency.objects.get().summary == "Transferred, stable."


def test_discharge_through_the_api(cast: Cast, clock: Any) -> None:
    session = _dosed(cast)
    sid = session.public_id
    alice, ben = client_for(cast.alice), client_for(cast.ben)
    early = _send(alice, "get", f"/sessions/{sid}/discharge").json()
    assert early["ready"] is False
    assert {c["code"]: c["met"] for c in early["criteria"]}["minimum_time"] is False
    clock.move_to(T0 + timedelta(hours=8, minutes=1))
    alice, ben = client_for(cast.alice), client_for(cast.ben)  # the idle timeout ended the first sessions
    late = {
        "observed_at": (T0 + timedelta(hours=8)).isoformat(),
        "values": {
            "systolic_bp": {"value": 124, "unit": "mm[Hg]"},
            "diastolic_bp": {"value": 80, "unit": "mm[Hg]"},
            "heart_rate": {"value": 72, "unit": "/min"},
            "temperature": {"value": "36.9", "unit": "Cel"},
            "suds": {"value": 2, "unit": "{score}"},
        },
    }
    assert _send(alice, "post", f"/sessions/{sid}/vitals", late).status_code == 201
    refused = _send(alice, "post", f"/sessions/{sid}/discharge", {"overnight_stay": True})
    assert refused.status_code == 422
    assert refused.json()["fields"] == {"attestations": ["2 therapists attest; 0 have"]}
    for client, user in ((alice, cast.alice), (ben, cast.ben)):
        attest = {
            "alert_and_oriented": True,
            "escort_present": True,
            "escort_name": "Sam (spouse)",
            "password": PASSWORD,
            "otp_code": otp_code(user),
        }
        assert _send(client, "post", f"/sessions/{sid}/discharge/attestations", attest).status_code == 201
    done = _send(alice, "post", f"/sessions/{sid}/discharge", {"overnight_stay": True})
    assert done.status_code == 200
    body = done.json()
    assert (body["status"], body["overnight_stay"], len(body["attestations"])) == ("discharged", True, 2)
    assert body["check_ins"]
    items = _send(alice, "get", f"/sessions/{sid}/timeline").json()
    kinds = [i["kind"] for i in items]
    assert kinds[-1] == "discharge"
    assert "dose" in kinds
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)


def test_the_rota_and_equipment_through_the_api(cast: Cast, clock: Any) -> None:
    client = client_for(cast.carmen)
    site = cast.site_a.public_id
    refused = _send(
        client,
        "post",
        f"/sites/{site}/on-call",
        {
            "physician_id": str(cast.alice.public_id),
            "starts_at": T0.isoformat(),
            "ends_at": (T0 + timedelta(hours=12)).isoformat(),
        },
    )
    assert refused.status_code == 422
    assert list(refused.json()["fields"]) == ["physician"]
    added = _send(
        client,
        "post",
        f"/sites/{site}/on-call",
        {
            "physician_id": str(cast.priya.public_id),
            "starts_at": T0.isoformat(),
            "ends_at": (T0 + timedelta(hours=12)).isoformat(),
        },
    )
    assert added.status_code == 201
    assert [s["physician"] for s in _send(client, "get", f"/sites/{site}/on-call").json()] == [
        cast.priya.printed_name
    ]
    cancelled = _send(
        client, "post", f"/sites/{site}/on-call/{added.json()['id']}/cancel", {"reason": "Sick"}
    )
    assert cancelled.json()["cancelled_at"] is not None
    assert _send(client, "get", f"/sites/{site}/on-call").json() == []
    checked = _send(client, "post", f"/sites/{site}/equipment", {"item": "Pulse oximeter", "ok": True})
    assert checked.status_code == 201
    assert [(i["item"], i["ok"]) for i in checked.json()][:2] == [
        ("Pulse oximeter", True),
        ("Automated external defibrillator (AED)", None),
    ]
    refused = _send(client, "post", f"/sites/{site}/equipment", {"item": "Jetpack", "ok": True})
    assert refused.json()["fields"] == {"item": ["is not on the site's equipment list"]}
    assert _send(client_for(cast.oscar), "get", f"/sites/{site}/equipment").status_code == 404


def test_the_site_administrator_sets_the_emergency_plan_and_others_may_not(cast: Cast, clock: Any) -> None:
    site = cast.site_a.public_id
    plan = _send(client_for(cast.alice), "get", f"/sites/{site}/emergency-plan").json()
    assert plan["site_default"] is True
    assert "Pulse oximeter" in plan["equipment"]
    body = {"procedure": "Call 911, then the physician on call.", "equipment": ["AED", "Suction unit"]}
    assert _send(client_for(cast.alice), "put", f"/sites/{site}/emergency-plan", body).status_code == 403
    refused = _send(
        client_for(cast.morgan), "put", f"/sites/{site}/emergency-plan", body | {"equipment": ["AED", "AED"]}
    )
    assert refused.json()["fields"] == {"equipment": ["an item is listed twice"]}
    saved = _send(client_for(cast.morgan), "put", f"/sites/{site}/emergency-plan", body)
    assert saved.json() == body | {"site_default": False}
    equipment = _send(client_for(cast.alice), "get", f"/sites/{site}/equipment").json()
    assert [i["item"] for i in equipment] == ["AED", "Suction unit"]
    page = client_for(cast.morgan).post(
        f"/sites/{site}/emergency-plan/", {"procedure": "", "equipment": "AED"}
    )
    assert page.status_code == 422
    assert "This field is required." in page.content.decode()
