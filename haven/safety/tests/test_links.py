"""Safety as the rest of Haven shows it: the room's alert link, the emergency's button, the home page
and the monitor command."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command

from haven.core.testing import Cast, actor_of, client_for
from haven.dosing import services as dosing
from haven.dosing.models import Alert
from haven.safety import services
from haven.safety.models import AdverseEvent
from haven.safety.tests.helpers import T0, dosed, mild, serious

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0 + timedelta(hours=2), tick=False) as traveller:
        yield traveller


def test_an_open_alert_in_the_room_offers_record_as_adverse_event(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    dosing.vitals_record(
        actor=actor_of(cast.ben),
        session=session,
        values={"systolic_bp": (166, "mm[Hg]")},
        observed_at=T0 + timedelta(minutes=60),
    )
    alert = Alert.objects.get()
    page = client_for(cast.alice).get(f"/sessions/{session.public_id}/").content.decode()
    assert f"/courses/{session.course.public_id}/adverse-events/new/?alert={alert.public_id}" in page
    # Once recorded, the alert links to its adverse event instead (the link kept both ways).
    event = services.ae_record(
        actor=actor_of(cast.alice), course=session.course, data=mild(), source_alert=alert
    )
    page = client_for(cast.alice).get(f"/sessions/{session.public_id}/").content.decode()
    assert f"/adverse-events/{event.public_id}/" in page
    assert f"?alert={alert.public_id}" not in page


def test_the_emergency_page_offers_the_draft_and_then_links_to_it(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    emergency = dosing.emergency_declare(actor=actor_of(cast.ben), session=session, description="Collapsed")
    priya = client_for(cast.priya)
    page = priya.get(f"/emergencies/{emergency.public_id}/").content.decode()
    assert f"/emergencies/{emergency.public_id}/adverse-event/" in page
    priya.post(f"/emergencies/{emergency.public_id}/adverse-event/")
    event = AdverseEvent.objects.get()
    assert (
        f"/adverse-events/{event.public_id}/"
        in priya.get(f"/emergencies/{emergency.public_id}/").content.decode()
    )


def test_home_shows_due_sae_reports_to_the_physician_and_the_reporter_only(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    services.ae_record(actor=actor_of(cast.alice), course=session.course, data=serious())
    assert "1 SAE report due or overdue" in client_for(cast.priya).get("/").content.decode()
    assert "1 SAE report due or overdue" in client_for(cast.alice).get("/").content.decode()
    assert "SAE report" not in client_for(cast.ben).get("/").content.decode()
    assert "SAE report" not in client_for(cast.riley).get("/").content.decode()


def test_the_monitor_escalates_overdue_sae_clocks(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    services.ae_record(actor=actor_of(cast.alice), course=session.course, data=serious())
    clock.move_to(T0 + timedelta(days=2))
    out = StringIO()
    call_command("monitor", "--once", stdout=out)
    assert "1 SAE clock escalation(s), 0 safety event(s) drafted" in out.getvalue()
