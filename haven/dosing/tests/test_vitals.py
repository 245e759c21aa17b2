"""Vital signs: units and plausibility, alerts against limits and baseline, the measurement schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from haven.dosing.vitals import LOINC, AlertKind, DueStatus, VitalRefused, findings, normalize, schedule
from haven.protocols.loader import SHIPPED_DIR, load_protocol
from haven.protocols.schema import VitalSign

MONITORING = load_protocol(SHIPPED_DIR / "mdma-ptsd.yaml").monitoring
assert MONITORING is not None
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_fahrenheit_is_converted_to_celsius() -> None:
    assert normalize("temperature", "100.4", "[degF]") == (VitalSign.TEMPERATURE, Decimal("38.00"))


@pytest.mark.parametrize(
    ("parameter", "value", "unit", "message"),
    [
        ("systolic_bp", 400, "mm[Hg]", "systolic_bp: 400 mmHg is not possible (accepted 40–300 mm[Hg])"),
        ("systolic_bp", "120.5", "mm[Hg]", "systolic_bp: must be a whole number"),
        ("spo2", 101, "%", "spo2: 101 % is not possible (accepted 50–100 %)"),
        ("temperature", 120, "[degF]", "temperature: 48.9 °C is not possible (accepted 25–45 Cel)"),
        ("systolic_bp", 120, "kPa", "systolic_bp: unit must be mm[Hg], not kPa"),
        ("suds", 11, "{score}", "suds: 11 is not possible (accepted 0–10 {score})"),
        ("glucose", 5, "mmol/L", "glucose: unknown parameter"),
    ],
)
def test_impossible_values_are_refused_naming_the_parameter(
    parameter: str, value: object, unit: str, message: str
) -> None:
    with pytest.raises(VitalRefused) as refused:
        normalize(parameter, value, unit)  # type: ignore[arg-type]
    assert str(refused.value).startswith(message)


def test_vital_sign_loinc_codes() -> None:
    assert LOINC[VitalSign.SYSTOLIC_BP] == "8480-6"
    assert LOINC[VitalSign.SPO2] == "59408-5"


def test_limits_and_the_rise_from_baseline() -> None:
    assert MONITORING is not None
    baseline = {VitalSign.SYSTOLIC_BP: Decimal(122)}
    found = findings(MONITORING, VitalSign.SYSTOLIC_BP, Decimal(185), baseline)
    assert [(f.kind, f.message) for f in found] == [
        (AlertKind.LIMIT, "Systolic BP 185 mmHg is above the limit of 180 mmHg"),
        (AlertKind.BASELINE, "Systolic BP rose 63 mmHg from the pre-dose 122 mmHg (alert at +40 mmHg)"),
    ]
    assert findings(MONITORING, VitalSign.SYSTOLIC_BP, Decimal(161), baseline) == []  # +39, under 180
    assert findings(MONITORING, VitalSign.SYSTOLIC_BP, Decimal(161), {}) == []  # no baseline yet
    low = findings(MONITORING, VitalSign.HEART_RATE, Decimal(41), {})
    assert [(f.kind, f.message) for f in low] == [
        (AlertKind.LIMIT, "Heart rate 41 /min is below the limit of 45 /min")
    ]


def test_a_rise_exactly_at_the_threshold_alerts() -> None:
    assert MONITORING is not None
    found = findings(MONITORING, VitalSign.SYSTOLIC_BP, Decimal(162), {VitalSign.SYSTOLIC_BP: Decimal(122)})
    assert [f.kind for f in found] == [AlertKind.BASELINE]


def test_the_schedule_shows_done_due_overdue_and_upcoming() -> None:
    assert MONITORING is not None
    measured = [T0 - timedelta(minutes=20), T0 + timedelta(minutes=31)]
    rows = {
        d.minute: d.status
        for d in schedule(MONITORING, dose_at=T0, measured=measured, now=T0 + timedelta(minutes=85))
    }
    assert rows[0] == DueStatus.DONE
    assert rows[30] == DueStatus.DONE
    assert rows[60] == DueStatus.OVERDUE
    assert rows[90] == DueStatus.DUE
    assert rows[120] == DueStatus.UPCOMING
