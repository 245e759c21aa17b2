"""The session room through the API: open, checklist, presence, dose, vitals, alerts, state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from haven.core.testing import PASSWORD, Cast, client_for, make_credential, make_enrolled_course, otp_code
from haven.dosing.models import Alert, DoseAdministration, DosingSession
from haven.patients.models import Visit

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


def _opened(cast: Cast) -> tuple[Client, str]:
    course = make_enrolled_course(cast, enrolled_on=date(2026, 10, 1))
    make_credential(cast.alice, cast.site_a)
    make_credential(cast.ben, cast.site_a, identifier="PSY-2")
    client = client_for(cast.alice)
    response = _send(
        client,
        "post",
        "/sessions",
        {"visit_id": str(Visit.objects.get(course=course, code="dose1").public_id)},
    )
    assert response.status_code == 201, response.content
    return client, response.json()["id"]


def test_a_session_runs_from_checklist_to_an_acknowledged_alert(cast: Cast, clock: Any) -> None:
    client, sid = _opened(cast)
    state = _send(client, "get", f"/sessions/{sid}").json()
    assert [c["code"] for c in state["checklist"]][:2] == ["vitals", "pregnancy"]
    for item in state["checklist"]:
        assert (
            _send(client, "put", f"/sessions/{sid}/checklist/{item['code']}", {"done": True}).status_code
            == 200
        )
    for user, lead in ((cast.alice, True), (cast.ben, False)):
        response = _send(
            client,
            "post",
            f"/sessions/{sid}/presence",
            {"user_id": str(user.public_id), "role": "therapist", "is_lead": lead},
        )
        assert response.status_code == 201
    pre = {
        "observed_at": (T0 - timedelta(minutes=10)).isoformat(),
        "values": {
            "systolic_bp": {"value": 120, "unit": "mm[Hg]"},
            "heart_rate": {"value": 70, "unit": "/min"},
        },
    }
    assert _send(client, "post", f"/sessions/{sid}/vitals", pre).status_code == 201
    dose = {
        "kind": "initial",
        "amount": "120",
        "lot": "MDMA-2611-B",
        "administered_at": T0.isoformat(),
        "witness_id": str(cast.ben.public_id),
        "witness_password": PASSWORD,
        "witness_otp_code": otp_code(cast.ben),
    }
    given = _send(client, "post", f"/sessions/{sid}/doses", dose)
    assert given.status_code == 201, given.content
    body = given.json()
    assert (body["status"], body["doses"][0]["witnessed_by"]) == ("dosed", "Ben Okafor")
    for _ in range(3):  # the tablet stays in use, so the 15-minute idle timeout never ends its session
        clock.shift(timedelta(minutes=10))
        assert _send(client, "get", f"/sessions/{sid}").status_code == 200
    rise = {
        "observed_at": (T0 + timedelta(minutes=30)).isoformat(),
        "values": {"systolic_bp": {"value": 165, "unit": "mm[Hg]"}},
    }
    state = _send(client, "post", f"/sessions/{sid}/vitals", rise).json()
    assert (
        state["alerts"][0]["message"]
        == "Systolic BP rose 45 mmHg from the pre-dose 120 mmHg (alert at +40 mmHg)"
    )
    assert {d["minute"]: d["status"] for d in state["schedule"]}[30] == "done"
    alert_id = state["alerts"][0]["id"]
    acknowledged = _send(
        client_for(cast.ben), "post", f"/alerts/{alert_id}/acknowledge", {"action": "physician_called"}
    )
    assert acknowledged.json()["status"] == "acknowledged"
    resolved = _send(
        client, "post", f"/alerts/{alert_id}/resolve", {"note": "Physician reviewed; 150/92 at 45 min."}
    )
    assert resolved.json()["status"] == "resolved"
    assert Alert.objects.get().resolved_by == cast.alice


def test_a_refused_dose_names_the_rules_and_saves_nothing(cast: Cast, clock: Any) -> None:
    client, sid = _opened(cast)
    dose = {
        "kind": "initial",
        "amount": "100",
        "lot": "L",
        "administered_at": T0.isoformat(),
        "witness_id": str(cast.ben.public_id),
        "witness_password": PASSWORD,
        "witness_otp_code": otp_code(cast.ben),
    }
    response = _send(client, "post", f"/sessions/{sid}/doses", dose)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "dose_refused"
    assert body["fields"]["initial_amount"] == ["the initial dose must be one of 80 mg, 120 mg, not 100 mg"]
    assert "checklist" in body["fields"]
    assert not DoseAdministration.objects.exists()


def test_another_sites_staff_get_404_and_a_witness_of_another_site_is_refused(cast: Cast, clock: Any) -> None:
    client, sid = _opened(cast)
    assert _send(client_for(cast.oscar), "get", f"/sessions/{sid}").status_code == 404
    response = _send(
        client,
        "post",
        f"/sessions/{sid}/presence",
        {"user_id": str(cast.oscar.public_id), "role": "therapist"},
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"user_id": ["not a member of staff at this site"]}


def test_a_coordinator_cannot_open_a_session(cast: Cast, clock: Any) -> None:
    course = make_enrolled_course(cast, enrolled_on=date(2026, 10, 1))
    response = _send(
        client_for(cast.carmen),
        "post",
        "/sessions",
        {"visit_id": str(Visit.objects.get(course=course, code="dose1").public_id)},
    )
    assert response.status_code == 403
    assert not DosingSession.objects.exists()


def test_the_latest_observations_come_oldest_first_with_a_bounded_limit(cast: Cast, clock: Any) -> None:
    client, sid = _opened(cast)
    for minutes, rate in ((30, 70), (20, 80), (10, 90)):
        body = {
            "observed_at": (T0 - timedelta(minutes=minutes)).isoformat(),
            "values": {"heart_rate": {"value": rate, "unit": "/min"}, "spo2": {"value": 98, "unit": "%"}},
        }
        assert _send(client, "post", f"/sessions/{sid}/vitals", body).status_code == 201
    rates = _send(client, "get", f"/sessions/{sid}/observations?limit=2&parameter=heart_rate").json()
    assert [(o["parameter"], o["value"]) for o in rates] == [("heart_rate", "80.00"), ("heart_rate", "90.00")]
    assert len(_send(client, "get", f"/sessions/{sid}/observations").json()) == 6
    refused = _send(client, "get", f"/sessions/{sid}/observations?limit=5000")
    assert refused.status_code == 422
    assert refused.json()["fields"] == {"limit": ["must be between 1 and 1000"]}
