"""The shipped psilocybin and esketamine protocols load cleanly and plan to the expected dates. Pure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from haven.protocols.loader import SHIPPED_DIR, load_protocol
from haven.protocols.plan import plan_schedule
from haven.protocols.schema import Protocol, VisitKind

ENROLLMENT = date(2026, 1, 5)


def _load(name: str) -> Protocol:
    return load_protocol(SHIPPED_DIR / f"{name}.yaml")


def _rows(protocol: Protocol) -> list[tuple[str, date, date, date]]:
    return [(v.code, v.target, v.earliest, v.latest) for v in plan_schedule(protocol, enrollment=ENROLLMENT)]


@pytest.mark.parametrize(
    ("name", "code"), [("psilocybin-trd", "psilocybin-trd"), ("esketamine-rems", "esketamine-rems")]
)
def test_loads_without_problems(name: str, code: str) -> None:
    protocol = _load(name)
    assert protocol.code == code
    assert protocol.version == "1.0"
    assert protocol.sources


def test_psilocybin_schedule_is_exact() -> None:
    d = date
    assert _rows(_load("psilocybin-trd")) == [
        ("screening", d(2026, 1, 5), d(2026, 1, 5), d(2026, 1, 5)),
        ("prep-1", d(2026, 1, 12), d(2026, 1, 9), d(2026, 1, 15)),
        ("prep-2", d(2026, 1, 19), d(2026, 1, 16), d(2026, 1, 22)),
        ("prep-3", d(2026, 1, 26), d(2026, 1, 23), d(2026, 1, 29)),
        ("baseline", d(2026, 2, 1), d(2026, 1, 29), d(2026, 2, 1)),
        ("dosing", d(2026, 2, 2), d(2026, 2, 2), d(2026, 2, 8)),
        ("integration-d1", d(2026, 2, 3), d(2026, 2, 3), d(2026, 2, 4)),
        ("madrs-d2", d(2026, 2, 3), d(2026, 2, 3), d(2026, 2, 3)),
        ("integration-w1", d(2026, 2, 9), d(2026, 2, 7), d(2026, 2, 11)),
        ("madrs-w1", d(2026, 2, 9), d(2026, 2, 8), d(2026, 2, 10)),
        ("madrs-w3", d(2026, 2, 23), d(2026, 2, 21), d(2026, 2, 25)),
        ("madrs-w6", d(2026, 3, 16), d(2026, 3, 13), d(2026, 3, 19)),
        ("madrs-w12", d(2026, 4, 27), d(2026, 4, 20), d(2026, 5, 4)),
        ("closeout", d(2026, 4, 27), d(2026, 4, 20), d(2026, 5, 4)),
    ]


def test_psilocybin_single_25_mg_dose_and_week_3_endpoint() -> None:
    protocol = _load("psilocybin-trd")
    assert protocol.dosing is not None
    assert protocol.dosing.initial_doses == (Decimal("25"),)
    assert protocol.dosing.supplemental is None
    assert protocol.dosing.max_per_session == Decimal("25")
    assert [v.code for v in protocol.visits if v.kind == VisitKind.DOSING] == ["dosing"]
    assert protocol.outcomes is not None
    assert (protocol.outcomes.baseline_visit, protocol.outcomes.endpoint_visit) == ("baseline", "madrs-w3")


def test_esketamine_sessions_fall_on_the_expected_dates_in_order() -> None:
    d = date
    sessions = [
        (v.code, v.target)
        for v in plan_schedule(_load("esketamine-rems"), enrollment=ENROLLMENT)
        if v.kind == VisitKind.DOSING
    ]
    assert sessions == [
        ("induction-a-1", d(2026, 1, 12)),
        ("induction-b-1", d(2026, 1, 15)),
        ("induction-a-2", d(2026, 1, 19)),
        ("induction-b-2", d(2026, 1, 22)),
        ("induction-a-3", d(2026, 1, 26)),
        ("induction-b-3", d(2026, 1, 29)),
        ("induction-a-4", d(2026, 2, 2)),
        ("induction-b-4", d(2026, 2, 5)),
        ("maintenance-1", d(2026, 2, 9)),
        ("maintenance-2", d(2026, 2, 16)),
        ("maintenance-3", d(2026, 2, 23)),
        ("maintenance-4", d(2026, 3, 2)),
    ]


def test_esketamine_assessments_bracket_the_sessions() -> None:
    d = date
    codes = [code for code, *_ in _rows(_load("esketamine-rems"))]
    assert codes[:3] == ["screening", "baseline", "induction-a-1"]
    assert codes[-1] == "madrs-w8"
    assessments = [
        (v.code, v.target)
        for v in plan_schedule(_load("esketamine-rems"), enrollment=ENROLLMENT)
        if v.kind == VisitKind.ASSESSMENT
    ]
    assert assessments == [
        ("baseline", d(2026, 1, 12)),
        ("madrs-w4", d(2026, 2, 9)),
        ("madrs-w8", d(2026, 3, 9)),
    ]


def test_esketamine_monitoring_follows_the_rems() -> None:
    protocol = _load("esketamine-rems")
    assert protocol.monitoring is not None
    assert protocol.monitoring.minimum_minutes == 120
    assert 0 in protocol.monitoring.schedule_minutes
    assert 40 in protocol.monitoring.schedule_minutes
    assert protocol.monitoring.discharge.escort_required
    assert protocol.dosing is not None
    assert protocol.dosing.initial_doses == (Decimal("56"), Decimal("84"))
    assert protocol.dosing.max_per_session == Decimal("84")
    assert all(v.duration_minutes >= 120 for v in protocol.visits if v.kind == VisitKind.DOSING)
