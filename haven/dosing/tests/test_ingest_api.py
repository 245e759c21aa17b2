"""POST /api/v1/sessions/{id}/observations: device tokens, idempotent retries, partial batches, FHIR."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client

from haven.accounts.models import TokenKind
from haven.accounts.services import token_create
from haven.audit.models import AuditEntry
from haven.core.testing import Cast, actor_of, client_for, make_enrolled_course
from haven.dosing import services
from haven.dosing.models import Alert, DosingSession, Observation
from haven.patients.models import Visit

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(T0, tick=False):
        yield


def _session(cast: Cast) -> DosingSession:
    course = make_enrolled_course(cast, enrolled_on=date(2026, 10, 1))
    return services.session_open(
        actor=actor_of(cast.alice), visit=Visit.objects.get(course=course, code="dose1")
    )


def _device(cast: Cast, site: Any = None) -> str:
    admin = cast.morgan if site is None else cast.oscar
    issued = token_create(
        actor=actor_of(admin), kind=TokenKind.DEVICE, name="Room monitor", site=site or cast.site_a
    )
    return issued.secret


def _post(client: Client, session: DosingSession, body: object, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        f"/api/v1/sessions/{session.public_id}/observations",
        data=json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def _compact(device_id: str, parameter: str, value: object, unit: str, minutes: int = -5) -> dict[str, Any]:
    return {
        "id": device_id,
        "at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "parameter": parameter,
        "value": value,
        "unit": unit,
    }


def test_a_device_posts_a_batch_and_a_retry_is_not_stored_twice(cast: Cast) -> None:
    session, token = _session(cast), _device(cast)
    batch = {"observations": [_compact("m-1", "heart_rate", 72, "/min"), _compact("m-2", "spo2", 97.5, "%")]}
    first = _post(Client(), session, batch, token)
    assert first.status_code == 200
    assert first.json() == {"stored": 2, "already_stored": 0, "refused": 0, "errors": []}
    again = _post(Client(), session, batch, token)
    assert again.json() == {"stored": 0, "already_stored": 2, "refused": 0, "errors": []}
    assert Observation.objects.count() == 2
    stored = Observation.objects.get(device_observation_id="m-2")
    assert (stored.value, stored.unit, stored.loinc, stored.entered_by) == (
        Decimal("97.50"),
        "%",
        "59408-5",
        None,
    )
    # One audit entry for the batch lists every observation it stored; the retry added none.
    entry = AuditEntry.objects.get(record_type="dosing.observationbatch")
    assert entry.record_id == str(stored.batch_id)
    listed = entry.changes["observations"]["new"]
    assert sorted(o["device_observation_id"] for o in listed) == ["m-1", "m-2"]
    assert {o["id"] for o in listed} == {str(o.public_id) for o in Observation.objects.all()}


def test_a_partial_batch_stores_the_valid_items_and_names_the_others(cast: Cast) -> None:
    session, token = _session(cast), _device(cast)
    batch = {
        "observations": [
            _compact("a", "heart_rate", 72, "/min"),
            _compact("b", "systolic_bp", 400, "mm[Hg]"),
            _compact("c", "spo2", 96, "%"),
        ]
    }
    body = _post(Client(), session, batch, token).json()
    assert (body["stored"], body["refused"]) == (2, 1)
    assert body["errors"] == [
        {
            "index": 1,
            "id": "b",
            "reason": "observations[1].value: 400 mmHg is not possible (accepted 40–300 mm[Hg])",
        }
    ]
    assert sorted(Observation.objects.values_list("device_observation_id", flat=True)) == ["a", "c"]


def test_a_fhir_bundle_is_accepted(cast: Cast) -> None:
    session, token = _session(cast), _device(cast)
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"value": "f-1"}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "effectiveDateTime": (T0 - timedelta(minutes=2)).isoformat(),
        "valueQuantity": {
            "value": 88,
            "unit": "beats/minute",
            "system": "http://unitsofmeasure.org",
            "code": "/min",
        },
    }
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": observation}]}
    assert _post(Client(), session, bundle, token).json()["stored"] == 1
    assert Observation.objects.get().parameter == "heart_rate"


def test_a_device_of_another_site_gets_404(cast: Cast) -> None:
    session = _session(cast)
    response = _post(Client(), session, _compact("x", "heart_rate", 70, "/min"), _device(cast, cast.site_b))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not Observation.objects.exists()


def test_a_therapist_may_post_and_a_coordinator_may_not(cast: Cast) -> None:
    session = _session(cast)
    assert (
        _post(client_for(cast.alice), session, _compact("t", "heart_rate", 70, "/min")).json()["stored"] == 1
    )
    refused = _post(client_for(cast.carmen), session, _compact("u", "heart_rate", 70, "/min"))
    assert refused.status_code == 403
    assert Observation.objects.count() == 1


def test_no_credentials_get_401_and_bad_json_422(cast: Cast) -> None:
    session, token = _session(cast), _device(cast)
    assert _post(Client(), session, _compact("x", "heart_rate", 70, "/min")).status_code == 401
    response = Client().post(
        f"/api/v1/sessions/{session.public_id}/observations",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"body": ["not valid JSON"]}


def test_an_out_of_range_device_value_raises_an_alert(cast: Cast) -> None:
    session, token = _session(cast), _device(cast)
    _post(Client(), session, _compact("hr", "heart_rate", 140, "/min"), token)
    alert = Alert.objects.get()
    assert alert.message == "Pre-dose: Heart rate 140 /min is above the limit of 130 /min"
    assert alert.observation is not None
    assert alert.observation.device_observation_id == "hr"
