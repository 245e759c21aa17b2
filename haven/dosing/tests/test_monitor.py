"""The session monitor: overdue measurements become alerts; unacknowledged alerts escalate."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from haven.accounts.models import Role
from haven.core.testing import PASSWORD, Cast, actor_of, make_credential, make_enrolled_course, otp_code
from haven.dosing import services
from haven.dosing.models import Alert, DosingSession, Notification
from haven.dosing.monitor import monitor_tick
from haven.patients.models import Visit

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _tick(clock: Any, moment: datetime) -> Any:
    """Run the monitor with the clock at ``moment`` (alerts it raises carry that time too)."""
    clock.move_to(moment)
    return monitor_tick()


def _dosed(cast: Cast) -> DosingSession:
    course = make_enrolled_course(cast, enrolled_on=date(2026, 10, 1))
    make_credential(cast.alice, cast.site_a)
    make_credential(cast.ben, cast.site_a, identifier="PSY-2")
    session = services.session_open(
        actor=actor_of(cast.alice), visit=Visit.objects.get(course=course, code="dose1")
    )
    for item in ("vitals", "pregnancy", "medications", "cssrs", "escort", "touch-consent", "equipment"):
        services.checklist_answer(actor=actor_of(cast.alice), session=session, code=item, done=True)
    services.presence_check_in(
        actor=actor_of(cast.alice), session=session, user=cast.alice, role=Role.THERAPIST, is_lead=True
    )
    services.presence_check_in(
        actor=actor_of(cast.alice), session=session, user=cast.ben, role=Role.THERAPIST
    )
    services.vitals_record(
        actor=actor_of(cast.alice),
        session=session,
        values={"systolic_bp": (120, "mm[Hg]")},
        observed_at=T0 - timedelta(minutes=10),
    )
    services.dose_administer(
        actor=actor_of(cast.alice),
        session=session,
        kind="initial",
        amount=Decimal(80),
        lot="L1",
        administered_at=T0,
        witness=cast.ben,
        witness_password=PASSWORD,
        witness_otp_code=otp_code(cast.ben),
    )
    return session


def test_an_overdue_measurement_raises_one_alert(cast: Cast, clock: Any) -> None:
    session = _dosed(cast)
    assert (
        _tick(clock, T0 + timedelta(minutes=39)).overdue_alerts == 0
    )  # 30-minute set still within tolerance
    assert _tick(clock, T0 + timedelta(minutes=41)).overdue_alerts == 1
    assert _tick(clock, T0 + timedelta(minutes=42)).overdue_alerts == 0  # never twice
    alert = Alert.objects.get(session=session, kind="overdue")
    assert (alert.schedule_minute, alert.message) == (
        30,
        "The 30-minute vital signs are overdue (due 15:30 UTC)",
    )


def test_a_recorded_set_is_not_overdue(cast: Cast, clock: Any) -> None:
    session = _dosed(cast)
    clock.shift(timedelta(minutes=31))
    services.vitals_record(
        actor=actor_of(cast.ben),
        session=session,
        values={"heart_rate": (80, "/min")},
        observed_at=T0 + timedelta(minutes=31),
    )
    assert _tick(clock, T0 + timedelta(minutes=45)).overdue_alerts == 0


def test_an_unacknowledged_alert_escalates_to_the_physicians_by_notification_and_email(
    cast: Cast, clock: Any
) -> None:
    session = _dosed(cast)
    _tick(clock, T0 + timedelta(minutes=41))
    alert = Alert.objects.get(session=session)
    created = alert.created_at
    assert created == T0 + timedelta(minutes=41)
    assert _tick(clock, created + timedelta(minutes=4)).escalated == 0
    assert _tick(clock, created + timedelta(minutes=5)).escalated == 1
    assert _tick(clock, created + timedelta(minutes=6)).escalated == 0
    notification = Notification.objects.get()
    assert (notification.recipient, notification.emailed, notification.alert) == (cast.priya, True, alert)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["priya@example.test"]
    assert mail.outbox[0].subject == "Haven: unacknowledged alert for ALD-0001"


def test_an_acknowledged_alert_does_not_escalate(cast: Cast, clock: Any) -> None:
    session = _dosed(cast)
    _tick(clock, T0 + timedelta(minutes=41))
    services.alert_acknowledge(
        actor=actor_of(cast.ben), alert=Alert.objects.get(session=session), action="remeasured"
    )
    assert _tick(clock, T0 + timedelta(minutes=60)).escalated == 0
    assert not Notification.objects.exists()


def test_the_monitor_command_runs_once(cast: Cast, clock: Any) -> None:
    _dosed(cast)
    clock.shift(timedelta(minutes=41))
    out = io.StringIO()
    call_command("monitor", "--once", stdout=out)
    assert out.getvalue().strip() == "1 overdue alert(s), 0 escalation(s)"
