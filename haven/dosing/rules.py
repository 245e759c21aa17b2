"""Dose rules of the session room, checked against the protocol's dosing section. Pure: no Django.

``check_dose`` answers every reason a dose may not be given now — each a rule name and a sentence
("supplemental dose must be half the initial dose: 40 mg, not 60 mg") — or nothing when it may.
Haven records what a clinician administers under a protocol; it never proposes a dose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from haven.protocols.schema import Dosing


class DoseKind(StrEnum):
    INITIAL = "initial"
    SUPPLEMENTAL = "supplemental"


@dataclass(frozen=True)
class DoseGiven:
    kind: DoseKind
    amount: Decimal
    at: datetime


@dataclass(frozen=True)
class Refusal:
    rule: str  # stable code, e.g. "supplemental_window"
    message: str


def _amount(value: Decimal, unit: str) -> str:
    return f"{format(value.normalize(), 'f')} {unit}"


def check_dose(
    dosing: Dosing,
    *,
    kind: DoseKind,
    amount: Decimal,
    at: datetime,
    given: Sequence[DoseGiven],
    session_day: date,
    previous_session_day: date | None,
    latest_vitals_within_limits: bool | None,
    physician_approved: bool,
) -> list[Refusal]:
    """Every rule the dose would break; an empty list means the protocol allows it."""
    refusals: list[Refusal] = []
    unit = dosing.unit
    if amount <= 0:
        return [Refusal("amount", "the dose must be more than zero")]
    initial = next((d for d in given if d.kind == DoseKind.INITIAL), None)
    if kind == DoseKind.INITIAL:
        if initial is not None:
            refusals.append(Refusal("initial_once", "an initial dose was already given in this session"))
        if amount not in dosing.initial_doses:
            allowed = ", ".join(_amount(d, unit) for d in dosing.initial_doses)
            refusals.append(
                Refusal(
                    "initial_amount",
                    f"the initial dose must be one of {allowed}, not {_amount(amount, unit)}",
                )
            )
        if previous_session_day is not None:
            gap = (session_day - previous_session_day).days
            if gap < dosing.min_days_between_sessions:
                refusals.append(
                    Refusal(
                        "session_spacing",
                        f"dosing sessions must be at least {dosing.min_days_between_sessions} days apart; "
                        f"the previous one was {gap} days earlier ({previous_session_day:%Y-%m-%d})",
                    )
                )
    else:
        supplemental = dosing.supplemental
        if supplemental is None:
            return [Refusal("supplemental_allowed", "this protocol has no supplemental dose")]
        if initial is None:
            return [
                Refusal(
                    "supplemental_after_initial",
                    "a supplemental dose follows an initial dose; none was given",
                )
            ]
        if any(d.kind == DoseKind.SUPPLEMENTAL for d in given):
            refusals.append(
                Refusal("supplemental_once", "a supplemental dose was already given in this session")
            )
        expected = initial.amount * supplemental.fraction
        if amount != expected:
            refusals.append(
                Refusal(
                    "supplemental_amount",
                    f"the supplemental dose must be {format(supplemental.fraction.normalize(), 'f')} × the initial "
                    f"dose: {_amount(expected, unit)}, not {_amount(amount, unit)}",
                )
            )
        minutes = (at - initial.at).total_seconds() / 60
        if not supplemental.after_minutes_from <= minutes <= supplemental.after_minutes_to:
            refusals.append(
                Refusal(
                    "supplemental_window",
                    f"the supplemental dose is given {supplemental.after_minutes_from}–{supplemental.after_minutes_to} "
                    f"minutes after the initial dose; it is {minutes:.0f} minutes",
                )
            )
        if supplemental.requires_vitals_within_limits and latest_vitals_within_limits is not True:
            why = (
                "no vital signs recorded"
                if latest_vitals_within_limits is None
                else "the latest vital signs are outside the limits"
            )
            refusals.append(
                Refusal(
                    "supplemental_vitals",
                    f"the supplemental dose needs the latest vital signs within limits: {why}",
                )
            )
        if supplemental.requires_physician_approval and not physician_approved:
            refusals.append(
                Refusal("supplemental_approval", "the supplemental dose needs a physician's approval")
            )
    total = sum((d.amount for d in given), Decimal(0)) + amount
    if total > dosing.max_per_session:
        refusals.append(
            Refusal(
                "session_maximum",
                f"the session total would be {_amount(total, unit)}, above the maximum of {_amount(dosing.max_per_session, unit)}",
            )
        )
    return refusals
