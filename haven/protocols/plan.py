"""From a protocol's visit definitions to a patient's dated schedule. Pure: no Django.

Each visit falls ``days`` after its anchor: enrollment, or another visit. The anchor's *actual* date
is used once that visit has happened, its target date until then, so recording a visit that came
late re-plans every visit that depends on it (and only those).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from haven.protocols.loader import ENROLLMENT
from haven.protocols.schema import Protocol, Visit, VisitKind


@dataclass(frozen=True)
class PlannedVisit:
    code: str
    definition: str
    instance: int  # 1-based position for repeated definitions, else 1
    name: str
    kind: VisitKind
    phase: str
    anchor: str
    target: date
    earliest: date
    latest: date
    duration_minutes: int

    def in_window(self, day: date) -> bool:
        return self.earliest <= day <= self.latest

    def days_outside_window(self, day: date) -> int:
        """0 inside the window; otherwise how many days before (negative) or after (positive) it."""
        if day < self.earliest:
            return (day - self.earliest).days
        if day > self.latest:
            return (day - self.latest).days
        return 0


def _instances(visit: Visit) -> list[tuple[str, int, int]]:
    """(code, instance, extra days) for each visit a definition stands for."""
    if visit.repeat is None:
        return [(visit.code, 1, 0)]
    return [
        (f"{visit.code}-{n}", n, (n - 1) * visit.repeat.every_days) for n in range(1, visit.repeat.count + 1)
    ]


def plan_schedule(
    protocol: Protocol, *, enrollment: date, actual: Mapping[str, date] | None = None
) -> list[PlannedVisit]:
    """Every visit of ``protocol`` with its target date and window, in date order.

    ``actual`` maps visit codes to the dates they happened; those dates anchor the visits after
    them. An anchor naming a repeated definition by its plain code means its first instance.
    """
    actual = dict(actual or {})
    definitions = {}
    for visit in protocol.visits:
        for code, instance, offset in _instances(visit):
            definitions[code] = (visit, instance, offset)
        if visit.repeat is not None:
            definitions.setdefault(visit.code, (visit, 1, 0))
    targets: dict[str, date] = {}

    def target_of(code: str) -> date:
        if code == ENROLLMENT:
            return enrollment
        if code not in targets:
            visit, _, offset = definitions[code]
            targets[code] = _anchor_date(visit.target.anchor) + timedelta(days=visit.target.days + offset)
        return targets[code]

    def _anchor_date(code: str) -> date:
        if code in actual:
            return actual[code]
        if code != ENROLLMENT and code not in definitions:
            raise KeyError(f"unknown anchor {code!r}")
        return target_of(code)

    planned = []
    for order, visit in enumerate(protocol.visits):
        for code, instance, _ in _instances(visit):
            target = target_of(code)
            planned.append(
                (
                    target,
                    order,
                    instance,
                    PlannedVisit(
                        code=code,
                        definition=visit.code,
                        instance=instance,
                        name=visit.name
                        if visit.repeat is None
                        else f"{visit.name} ({instance} of {visit.repeat.count})",
                        kind=visit.kind,
                        phase=visit.phase,
                        anchor=visit.target.anchor,
                        target=target,
                        earliest=target - timedelta(days=visit.window.before),
                        latest=target + timedelta(days=visit.window.after),
                        duration_minutes=visit.duration_minutes,
                    ),
                )
            )
    return [p for _, _, _, p in sorted(planned, key=lambda row: (row[0], row[1], row[2]))]
