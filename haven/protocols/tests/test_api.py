"""The protocols API: loaded versions and their visit plans, read-only, for every signed-in person."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client

from haven.core.testing import Cast, client_for, load_shipped_protocol, make_enrolled_course
from haven.core.time import now
from haven.protocols.models import ProtocolVersion

pytestmark = pytest.mark.django_db


def test_protocol_list_shows_the_loaded_versions(cast: Cast) -> None:
    load_shipped_protocol("mdma-ptsd")
    load_shipped_protocol("psilocybin-trd")
    response = client_for(cast.alice).get("/api/v1/protocols")
    assert response.status_code == 200
    body = response.json()
    assert [(p["code"], p["version"], p["frozen"], p["frozen_at"]) for p in body] == [
        (v.code, v.version, False, None) for v in ProtocolVersion.objects.order_by("code")
    ]
    assert body[0]["title"] == "MDMA-assisted therapy for PTSD (MAPP1/MAPP2 design)"


def test_protocol_list_shows_a_version_frozen_by_enrollment(cast: Cast) -> None:
    make_enrolled_course(cast, enrolled_on=now().date() - timedelta(days=1))
    [listed] = client_for(cast.carmen).get("/api/v1/protocols").json()
    version = ProtocolVersion.objects.get()
    assert version.frozen_at is not None
    assert listed["frozen"] is True
    # The API writes times to the millisecond.
    shown = datetime.fromisoformat(listed["frozen_at"])
    assert abs(shown - version.frozen_at) < timedelta(milliseconds=1)


def test_protocol_get_shows_the_visit_plan_dosing_and_monitoring(cast: Cast) -> None:
    version = load_shipped_protocol()
    response = client_for(cast.priya).get("/api/v1/protocols/mdma-ptsd/1.0")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["code"], body["version"], body["frozen"], body["sha256"]) == (
        "mdma-ptsd",
        "1.0",
        False,
        version.sha256,
    )
    assert [v["code"] for v in body["visits"]] == [v["code"] for v in version.content["visits"]]
    visits = {v["code"]: v for v in body["visits"]}
    assert visits["prep2"] == {
        "code": "prep2",
        "name": "Preparation session 2",
        "kind": "preparation",
        "phase": "preparation",
        "anchor": "prep1",
        "days": 7,
        "window_before": 2,
        "window_after": 7,
        "duration_minutes": 90,
        "repeat": None,
        "overnight": False,
        "staff": [{"role": "therapist", "count": 2, "lead": 1}],
        "note_template": [
            "Education given",
            "Intentions",
            "Safety plan",
            "Touch consent discussed",
            "Plan until the next visit",
        ],
    }
    assert visits["call1"]["repeat"] == {"count": 7, "every_days": 1}
    assert visits["dose1"]["overnight"] is True
    assert body["dosing"]["initial_doses"] == ["80", "120"]
    assert body["dosing"]["max_per_session"] == "180"
    assert "heart_rate" in body["monitoring"]["parameters"]
    assert [p["code"] for p in body["phases"]][:2] == ["baseline", "preparation"]


def test_an_unknown_protocol_version_is_not_found(cast: Cast) -> None:
    load_shipped_protocol()
    response = client_for(cast.alice).get("/api/v1/protocols/mdma-ptsd/9.9")
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "No protocol mdma-ptsd 9.9 is loaded.",
        "fields": {},
    }


def test_protocols_need_login(cast: Cast) -> None:
    load_shipped_protocol()
    for path in ("/api/v1/protocols", "/api/v1/protocols/mdma-ptsd/1.0"):
        response = Client().get(path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "not_authenticated"


def test_protocols_are_shared_by_every_site(cast: Cast) -> None:
    # Protocols are not site data: the outsider at site B reads the same versions as site A.
    load_shipped_protocol()
    oscar = client_for(cast.oscar)
    assert [p["code"] for p in oscar.get("/api/v1/protocols").json()] == ["mdma-ptsd"]
    assert oscar.get("/api/v1/protocols/mdma-ptsd/1.0").status_code == 200
