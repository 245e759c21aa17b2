"""The safety API: success, unauthenticated, forbidden as "not found", invalid input; the rater sees nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from haven.audit.models import AuditEntry
from haven.core.testing import PASSWORD, Cast, actor_of, client_for, otp_code
from haven.dosing import services as dosing
from haven.outcomes import services as outcomes
from haven.outcomes.models import SafetyAlert
from haven.safety import services
from haven.safety.models import AdverseEvent, SaeClock
from haven.safety.tests.helpers import T0, dosed, mild, serious

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0 + timedelta(hours=2), tick=False) as traveller:
        yield traveller


def _send(client: Client, method: str, path: str, body: object | None = None) -> Any:
    return getattr(client, method)(
        f"/api/v1{path}", data=json.dumps(body) if body is not None else None, content_type="application/json"
    )


def _body(**overrides: Any) -> dict[str, Any]:
    return {
        "verbatim_term": "Euphoric mood",
        "onset_at": (T0 + timedelta(minutes=45)).isoformat(),
        "severity": "mild",
        "relatedness": "probable",
        "expected": True,
        "action_taken": "none",
        "outcome": "recovered",
    } | overrides


def test_it_records_an_event_with_time_since_dose_and_special_interest(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    response = _send(
        client_for(cast.alice),
        "post",
        f"/courses/{session.course.public_id}/adverse-events",
        _body(session_id=str(session.public_id)),
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["minutes_since_dose"], body["aesi_categories"], body["status"]) == (
        45,
        ["positive_valence"],
        "recorded",
    )
    assert body["session_id"] == str(session.public_id)
    assert AdverseEvent.objects.get().verbatim_term == "Euphoric mood"


def test_it_refuses_a_serious_event_without_awareness_naming_the_field(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    response = _send(
        client_for(cast.alice),
        "post",
        f"/courses/{session.course.public_id}/adverse-events",
        _body(hospitalisation=True, expected=False),
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {
        "awareness_at": ["a serious event needs the time the site became aware of it"]
    }
    assert not AdverseEvent.objects.exists()


def test_it_needs_a_login(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    response = _send(Client(), "post", f"/courses/{session.course.public_id}/adverse-events", _body())
    assert response.status_code == 401
    assert _send(Client(), "get", f"/sites/{cast.site_a.public_id}/adverse-events").status_code == 401


def test_the_outsider_gets_not_found(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    event = services.ae_record(actor=actor_of(cast.alice), course=session.course, data=mild())
    oscar = client_for(cast.oscar)
    assert _send(oscar, "get", f"/adverse-events/{event.public_id}").status_code == 404
    assert (
        _send(oscar, "post", f"/courses/{session.course.public_id}/adverse-events", _body()).status_code
        == 404
    )


def test_the_blinded_rater_gets_not_found_on_every_safety_route(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    event = services.ae_record(actor=actor_of(cast.priya), course=session.course, data=serious())
    emergency = dosing.emergency_declare(actor=actor_of(cast.ben), session=session)
    riley = client_for(cast.riley)
    e, c, s = event.public_id, session.course.public_id, cast.site_a.public_id
    for method, path, body in (
        ("get", f"/sites/{s}/adverse-events", None),
        ("get", f"/sites/{s}/sae-queue", None),
        ("get", f"/sites/{s}/adverse-events/incidence", None),
        ("post", f"/courses/{c}/adverse-events", _body()),
        ("get", f"/adverse-events/{e}", None),
        ("put", f"/adverse-events/{e}", _body(reason="x")),
        ("post", f"/adverse-events/{e}/entered-in-error", {"reason": "x"}),
        (
            "post",
            f"/adverse-events/{e}/coding",
            {"pt_code": "1", "pt_name": "a", "soc_code": "2", "soc_name": "b"},
        ),
        ("get", f"/adverse-events/{e}/versions", None),
        ("post", f"/adverse-events/{e}/reports", {"kind": "initial", "narrative": "x"}),
        (
            "post",
            f"/adverse-events/{e}/assessments",
            {"capacity": "investigator", "relatedness": "possible", "password": PASSWORD},
        ),
        ("post", f"/emergencies/{emergency.public_id}/adverse-event", None),
        ("post", f"/courses/{c}/solicited-effects", {"time_point": "day1", "none_reported": True}),
        ("get", f"/courses/{c}/solicited-effects", None),
    ):
        response = _send(riley, method, path, body)
        assert response.status_code == 404, (method, path, response.status_code)
    event.refresh_from_db()
    assert event.version == 1


def test_an_update_needs_a_reason_and_keeps_versions(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    event = services.ae_record(actor=actor_of(cast.alice), course=session.course, data=mild())
    alice = client_for(cast.alice)
    path = f"/adverse-events/{event.public_id}"
    body = _body(
        verbatim_term="Jaw clenching", severity="moderate", onset_at=(T0 + timedelta(minutes=50)).isoformat()
    )
    assert _send(alice, "put", path, body | {"reason": ""}).status_code == 422
    response = _send(alice, "put", path, body | {"reason": "worse than first noted"})
    assert response.status_code == 200
    assert response.json()["version"] == 2
    versions = _send(alice, "get", f"{path}/versions").json()
    assert [(v["number"], v["reason"]) for v in versions] == [(1, "recorded"), (2, "worse than first noted")]
    assert (
        _send(alice, "post", f"{path}/entered-in-error", {"reason": "duplicate"}).json()["status"]
        == "entered_in_error"
    )
    assert AuditEntry.objects.filter(record_type="safety.adverseevent", action="update").count() == 2


def test_reports_and_the_queue(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    event = services.ae_record(actor=actor_of(cast.priya), course=session.course, data=serious())
    priya = client_for(cast.priya)
    queue = _send(priya, "get", f"/sites/{cast.site_a.public_id}/sae-queue").json()
    assert [q["kind"] for q in queue] == ["initial", "expedited"]
    response = _send(
        priya, "post", f"/adverse-events/{event.public_id}/reports", {"kind": "initial", "narrative": "Sent."}
    )
    assert response.status_code == 201
    assert response.json()["reports"][0]["number"] == 1
    queue = _send(priya, "get", f"/sites/{cast.site_a.public_id}/sae-queue").json()
    assert [q["kind"] for q in queue] == ["expedited"]
    assert SaeClock.objects.get(kind="initial").stopped_at is not None


def test_a_signed_assessment_shows_as_signed(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    event = services.ae_record(actor=actor_of(cast.priya), course=session.course, data=serious())
    response = _send(
        client_for(cast.priya),
        "post",
        f"/adverse-events/{event.public_id}/assessments",
        {
            "capacity": "investigator",
            "relatedness": "probable",
            "expected": False,
            "password": PASSWORD,
            "otp_code": otp_code(cast.priya),
        },
    )
    assert response.status_code == 201, response.json()
    assessment = response.json()["assessments"][0]
    assert (assessment["assessor"], assessment["signed"]) == ("Dr Priya Natarajan", True)


def test_a_solicited_none_is_stored_through_the_api(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    alice = client_for(cast.alice)
    path = f"/courses/{session.course.public_id}/solicited-effects"
    response = _send(alice, "post", path, {"time_point": "session_end", "none_reported": True})
    assert response.status_code == 201
    assert response.json()["none_reported"] is True
    assert _send(alice, "post", path, {"time_point": "day1", "none_reported": False}).status_code == 422
    assert len(_send(alice, "get", path).json()) == 1


def test_incidence_counts_events_and_patients_by_category(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    alice = actor_of(cast.alice)
    services.ae_record(actor=alice, course=session.course, data=mild(verbatim_term="Euphoria"))
    services.ae_record(actor=alice, course=session.course, data=mild(verbatim_term="Feeling high"))
    services.ae_record(actor=alice, course=session.course, data=mild(verbatim_term="Nausea"))
    body = _send(
        client_for(cast.sam), "get", f"/sites/{cast.site_a.public_id}/adverse-events/incidence"
    ).json()
    assert body["by_category"] == [
        {"label": "Positive-valence effects", "events": 2, "patients": 1},
        {"label": "(no special interest)", "events": 1, "patients": 1},
    ]
    assert body["by_pt"] == [{"label": "(not coded)", "events": 3, "patients": 1}]


def test_a_questionnaire_flag_can_be_drafted_for_review_at_once(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    outcomes.response_record(
        actor=actor_of(cast.alice),
        course=session.course,
        instrument="phq9",
        answers={f"phq9_{n}": 1 for n in range(1, 9)} | {"phq9_9": 2},
    )
    alert = SafetyAlert.objects.get()
    path = f"/safety-alerts/{alert.public_id}/adverse-event"
    assert _send(client_for(cast.riley), "post", path).status_code == 404
    response = _send(client_for(cast.alice), "post", path)
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["source_safety_alert_id"]) == (
        "draft",
        str(alert.public_id),
    )
    assert _send(client_for(cast.alice), "post", path).json()["id"] == response.json()["id"]
