"""Vital signs in the session room: units, plausibility, alerts and the measurement schedule. Pure.

Values are stored in UCUM units with their LOINC codes (FHIR R4 vital-signs profile). A value that
is physiologically impossible is refused with a message naming the parameter; °F is converted to
°C. Alerts compare a value with the protocol's limits and with the patient's pre-dose baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from haven.protocols.schema import VITAL_UNITS, Monitoring, VitalSign

# LOINC codes of the FHIR vital-signs profile (clinical reference 5.8); SUDS has none.
LOINC: dict[VitalSign, str] = {
    VitalSign.SYSTOLIC_BP: "8480-6",
    VitalSign.DIASTOLIC_BP: "8462-4",
    VitalSign.HEART_RATE: "8867-4",
    VitalSign.TEMPERATURE: "8310-5",
    VitalSign.SPO2: "59408-5",
    VitalSign.RESPIRATORY_RATE: "9279-1",
}
BP_PANEL_LOINC = "85354-9"
LABELS: dict[VitalSign, str] = {
    VitalSign.SYSTOLIC_BP: "Systolic BP",
    VitalSign.DIASTOLIC_BP: "Diastolic BP",
    VitalSign.HEART_RATE: "Heart rate",
    VitalSign.TEMPERATURE: "Temperature",
    VitalSign.SPO2: "SpO2",
    VitalSign.RESPIRATORY_RATE: "Respiratory rate",
    VitalSign.SUDS: "SUDS",
}
UNIT_WORDS = {"mm[Hg]": "mmHg", "/min": "/min", "Cel": "°C", "%": "%", "{score}": ""}

# Outside these, a value cannot be a living patient's (or a SUDS rating): a typing or device error.
PLAUSIBLE: dict[VitalSign, tuple[Decimal, Decimal]] = {
    VitalSign.SYSTOLIC_BP: (Decimal(40), Decimal(300)),
    VitalSign.DIASTOLIC_BP: (Decimal(20), Decimal(200)),
    VitalSign.HEART_RATE: (Decimal(20), Decimal(250)),
    VitalSign.TEMPERATURE: (Decimal(25), Decimal(45)),
    VitalSign.SPO2: (Decimal(50), Decimal(100)),
    VitalSign.RESPIRATORY_RATE: (Decimal(4), Decimal(60)),
    VitalSign.SUDS: (Decimal(0), Decimal(10)),
}
# Monitors report rates as averages over their window (89.5 /min), so rates keep their decimals;
# pressures are read in whole mmHg and SUDS is a 0–10 rating.
WHOLE = {VitalSign.SYSTOLIC_BP, VitalSign.DIASTOLIC_BP, VitalSign.SUDS}


class VitalRefused(ValueError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


def _show(value: Decimal, parameter: VitalSign) -> str:
    word = UNIT_WORDS[VITAL_UNITS[parameter]]
    number = format(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP).normalize(), "f")
    return f"{number} {word}".strip()


def normalize(parameter: str, value: Decimal | str | int, unit: str) -> tuple[VitalSign, Decimal]:
    """The parameter and its value in the stored UCUM unit; refuses impossible values."""
    try:
        vital = VitalSign(parameter)
    except ValueError:
        raise VitalRefused(
            parameter, f"unknown parameter; one of {', '.join(v.value for v in VitalSign)}"
        ) from None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise VitalRefused(parameter, "must be a number") from None
    if not number.is_finite():
        raise VitalRefused(parameter, "must be a number")
    expected = VITAL_UNITS[vital]
    if vital == VitalSign.TEMPERATURE and unit == "[degF]":
        number = ((number - 32) * 5 / 9).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    elif unit != expected:
        accepted = "Cel or [degF]" if vital == VitalSign.TEMPERATURE else expected
        raise VitalRefused(parameter, f"unit must be {accepted}, not {unit or 'none'}")
    if vital in WHOLE and number != number.to_integral_value():
        raise VitalRefused(parameter, "must be a whole number")
    low, high = PLAUSIBLE[vital]
    if not low <= number <= high:
        raise VitalRefused(
            parameter, f"{_show(number, vital)} is not possible (accepted {low}–{high} {expected})"
        )
    return vital, number


class AlertKind(StrEnum):
    LIMIT = "limit"
    BASELINE = "baseline"
    OVERDUE = "overdue"
    STAFFING = "staffing"


@dataclass(frozen=True)
class Finding:
    kind: AlertKind
    parameter: VitalSign
    message: str


def findings(
    monitoring: Monitoring, parameter: VitalSign, value: Decimal, baseline: Mapping[VitalSign, Decimal]
) -> list[Finding]:
    """What an observed value breaks: the protocol's limits, and limits relative to the baseline."""
    result: list[Finding] = []
    label = LABELS[parameter]
    limit = monitoring.limits.get(parameter)
    if limit is not None:
        if limit.high is not None and value > limit.high:
            result.append(
                Finding(
                    AlertKind.LIMIT,
                    parameter,
                    f"{label} {_show(value, parameter)} is above the limit of {_show(limit.high, parameter)}",
                )
            )
        if limit.low is not None and value < limit.low:
            result.append(
                Finding(
                    AlertKind.LIMIT,
                    parameter,
                    f"{label} {_show(value, parameter)} is below the limit of {_show(limit.low, parameter)}",
                )
            )
    relative = monitoring.relative_limits.get(parameter)
    base = baseline.get(parameter)
    if relative is not None and base is not None:
        change = value - base
        if relative.rise is not None and change >= relative.rise:
            result.append(
                Finding(
                    AlertKind.BASELINE,
                    parameter,
                    f"{label} rose {_show(change, parameter)} from the pre-dose {_show(base, parameter)} (alert at +{_show(relative.rise, parameter)})",
                )
            )
        if relative.fall is not None and -change >= relative.fall:
            result.append(
                Finding(
                    AlertKind.BASELINE,
                    parameter,
                    f"{label} fell {_show(-change, parameter)} from the pre-dose {_show(base, parameter)} (alert at −{_show(relative.fall, parameter)})",
                )
            )
    return result


class DueStatus(StrEnum):
    DONE = "done"
    DUE = "due"
    OVERDUE = "overdue"
    UPCOMING = "upcoming"


@dataclass(frozen=True)
class Due:
    minute: int
    due_at: datetime
    status: DueStatus


def schedule(
    monitoring: Monitoring,
    *,
    dose_at: datetime,
    measured: Sequence[datetime],
    now: datetime,
    tolerance_minutes: int = 10,
) -> list[Due]:
    """Each scheduled measurement after the dose: done (a full set within the tolerance of its time),
    due (its time has come), overdue (more than the tolerance late), or upcoming."""
    tolerance = timedelta(minutes=tolerance_minutes)
    result = []
    for minute in monitoring.schedule_minutes:
        due_at = dose_at + timedelta(minutes=minute)
        if minute == 0:
            # The pre-dose set is taken before the dose, at any time in the preceding hour.
            done = any(due_at - timedelta(minutes=60) <= t <= due_at + tolerance for t in measured)
        else:
            done = any(due_at - tolerance <= t <= due_at + tolerance for t in measured)
        if done:
            status = DueStatus.DONE
        elif now > due_at + tolerance:
            status = DueStatus.OVERDUE
        elif now >= due_at - tolerance:
            status = DueStatus.DUE
        else:
            status = DueStatus.UPCOMING
        result.append(Due(minute, due_at, status))
    return result
