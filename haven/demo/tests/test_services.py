"""The demo's session under monitoring: made through the real services, once."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from haven.audit.models import AuditEntry, Signature
from haven.demo.services import demo_session
from haven.dosing import services as dosing
from haven.dosing.models import Alert, DoseAdministration, DosingSession, Observation, SessionStatus
from haven.patients.models import Patient

pytestmark = pytest.mark.django_db
NOON_IN_CHICAGO = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOON_IN_CHICAGO, tick=True):
        yield


def _demo() -> str:
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_the_demo_has_a_session_dosed_today_and_under_monitoring() -> None:
    output = _demo()
    session = demo_session()
    assert session is not None
    site = session.course.site
    assert site.name == "Haven Demo Clinic"
    assert session.status == SessionStatus.DOSED
    assert session.first_dose_at is not None
    assert (
        session.first_dose_at.astimezone(ZoneInfo(site.time_zone)).date()
        == NOON_IN_CHICAGO.astimezone(ZoneInfo(site.time_zone)).date()
    )
    assert NOON_IN_CHICAGO - timedelta(minutes=25) < session.first_dose_at < NOON_IN_CHICAGO
    assert (session.visit.code, session.visit.status) == ("dose1", "occurred")
    assert session.room is not None
    assert session.room.name == "Cedar dosing suite"
    assert dosing.checklist_open_items(session) == []
    assert sorted((p.user.username, p.is_lead) for p in dosing.present(session)) == [
        ("cotherapist", False),
        ("lead", True),
    ]
    dose = DoseAdministration.objects.get(session=session)
    assert (dose.kind, dose.amount, dose.unit) == ("initial", Decimal(80), "mg")
    assert (dose.administered_by.username, dose.witnessed_by.username) == ("lead", "cotherapist")
    signature = Signature.objects.get(record_type="dosing.doseadministration", record_id=str(dose.public_id))
    assert signature.meaning == "witnessed"
    baseline = Observation.objects.filter(session=session)
    assert sorted(baseline.values_list("parameter", flat=True)) == [
        "diastolic_bp",
        "heart_rate",
        "systolic_bp",
        "temperature",
    ]
    assert all(o.observed_at < session.first_dose_at for o in baseline)
    assert not Alert.objects.filter(session=session).exists()
    assert f"Under monitoring: {session.course.patient.study_id}" in output


def test_loading_the_demo_again_adds_no_session() -> None:
    _demo()
    counts = (
        Patient.objects.count(),
        DosingSession.objects.count(),
        Observation.objects.count(),
        AuditEntry.objects.count(),
    )
    _demo()
    assert (
        Patient.objects.count(),
        DosingSession.objects.count(),
        Observation.objects.count(),
        AuditEntry.objects.count(),
    ) == counts
    assert DosingSession.objects.filter(status=SessionStatus.DOSED).count() == 1


def test_the_demo_ledger_reconciles_with_the_demo_session() -> None:
    from haven.inventory.models import LedgerEntry, Lot
    from haven.inventory.selectors import reconciliation

    _demo()
    lot = Lot.objects.get(lot_number="MDMA-DEMO-01")
    result = reconciliation(lot)
    assert (result.received, result.dispensed, result.on_hand) == (Decimal(60), Decimal(2), Decimal(58))
    assert result.balances
    assert result.mismatches == []
    assert LedgerEntry.objects.filter(kind="administration", dose__isnull=False).count() == 1
    entries = LedgerEntry.objects.count()
    _demo()
    assert LedgerEntry.objects.count() == entries
