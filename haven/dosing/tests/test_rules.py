"""Dose rules against the shipped MDMA-AT protocol, with the clinical reference's test vectors (1.11)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from haven.dosing.rules import DoseGiven, DoseKind, check_dose
from haven.protocols.loader import SHIPPED_DIR, load_protocol

DOSING = load_protocol(SHIPPED_DIR / "mdma-ptsd.yaml").dosing
assert DOSING is not None
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAY = date(2026, 12, 1)


def _check(
    kind: DoseKind,
    amount: int,
    at: datetime,
    given: list[DoseGiven] | None = None,
    *,
    previous_session_day: date | None = None,
    latest_vitals_within_limits: bool | None = True,
    physician_approved: bool = True,
) -> list[str]:
    assert DOSING is not None
    refusals = check_dose(
        DOSING,
        kind=kind,
        amount=Decimal(amount),
        at=at,
        given=given or [],
        session_day=DAY,
        previous_session_day=previous_session_day,
        latest_vitals_within_limits=latest_vitals_within_limits,
        physician_approved=physician_approved,
    )
    return [r.rule for r in refusals]


def _initial(amount: int) -> list[DoseGiven]:
    return [DoseGiven(DoseKind.INITIAL, Decimal(amount), T0)]


@pytest.mark.parametrize(("amount", "ok"), [(80, True), (120, True), (100, False)])
def test_initial_doses_are_the_protocols(amount: int, ok: bool) -> None:
    assert _check(DoseKind.INITIAL, amount, T0) == ([] if ok else ["initial_amount"])


def test_initial_120_then_60_at_95_minutes_is_valid() -> None:
    assert _check(DoseKind.SUPPLEMENTAL, 60, T0 + timedelta(minutes=95), _initial(120)) == []


def test_initial_80_then_60_is_refused_as_not_half() -> None:
    assert DOSING is not None
    refusals = check_dose(
        DOSING,
        kind=DoseKind.SUPPLEMENTAL,
        amount=Decimal(60),
        at=T0 + timedelta(minutes=100),
        given=_initial(80),
        session_day=DAY,
        previous_session_day=None,
        latest_vitals_within_limits=True,
        physician_approved=True,
    )
    assert [(r.rule, r.message) for r in refusals] == [
        ("supplemental_amount", "the supplemental dose must be 0.5 × the initial dose: 40 mg, not 60 mg")
    ]


@pytest.mark.parametrize(("minutes", "ok"), [(89, False), (90, True), (120, True), (121, False)])
def test_the_supplemental_window_edges(minutes: int, ok: bool) -> None:
    rules = _check(DoseKind.SUPPLEMENTAL, 40, T0 + timedelta(minutes=minutes), _initial(80))
    assert rules == ([] if ok else ["supplemental_window"])


def test_supplemental_needs_vitals_within_limits_and_a_physician() -> None:
    at = T0 + timedelta(minutes=100)
    assert _check(DoseKind.SUPPLEMENTAL, 40, at, _initial(80), latest_vitals_within_limits=False) == [
        "supplemental_vitals"
    ]
    assert _check(DoseKind.SUPPLEMENTAL, 40, at, _initial(80), latest_vitals_within_limits=None) == [
        "supplemental_vitals"
    ]
    assert _check(DoseKind.SUPPLEMENTAL, 40, at, _initial(80), physician_approved=False) == [
        "supplemental_approval"
    ]


def test_supplemental_needs_an_initial_dose_and_comes_once() -> None:
    assert _check(DoseKind.SUPPLEMENTAL, 40, T0) == ["supplemental_after_initial"]
    given = [*_initial(80), DoseGiven(DoseKind.SUPPLEMENTAL, Decimal(40), T0 + timedelta(minutes=95))]
    assert "supplemental_once" in _check(DoseKind.SUPPLEMENTAL, 40, T0 + timedelta(minutes=110), given)


def test_one_initial_dose_per_session_and_the_session_maximum() -> None:
    assert _check(DoseKind.INITIAL, 120, T0 + timedelta(minutes=10), _initial(120)) == [
        "initial_once",
        "session_maximum",
    ]


@pytest.mark.parametrize(("days", "ok"), [(20, False), (21, True)])
def test_minimum_days_between_sessions(days: int, ok: bool) -> None:
    rules = _check(DoseKind.INITIAL, 120, T0, previous_session_day=DAY - timedelta(days=days))
    assert rules == ([] if ok else ["session_spacing"])
