"""What changed between two protocol versions, in clinical words. Pure: no Django.

``protocol_diff(old, new)`` returns sentences such as
"Visit dose2 (Dosing session 2): window after changed from 7 to 10 days" or
"Dosing: allowed initial doses changed from 80, 120 mg to 100 mg", grouped by section, so an
amendment can be reviewed (and re-consented) by people who do not read YAML.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from haven.protocols.schema import Protocol

# How a field is named in a sentence, and its unit where it has one.
_WORDS: dict[str, tuple[str, str]] = {
    "target.anchor": ("anchor", ""),
    "target.days": ("days after the anchor", " days"),
    "window.before": ("window before", " days"),
    "window.after": ("window after", " days"),
    "duration_minutes": ("planned duration", " min"),
    "repeat.count": ("number of repeats", ""),
    "repeat.every_days": ("repeat interval", " days"),
    "initial_doses": ("allowed initial doses", ""),
    "max_per_session": ("maximum per session", ""),
    "min_days_between_sessions": ("minimum days between dosing sessions", " days"),
    "supplemental.fraction": ("supplemental dose fraction of the initial", ""),
    "supplemental.after_minutes_from": ("supplemental window opens", " min after the initial dose"),
    "supplemental.after_minutes_to": ("supplemental window closes", " min after the initial dose"),
    "supplemental.requires_physician_approval": ("supplemental needs a physician's approval", ""),
    "supplemental.requires_vitals_within_limits": ("supplemental needs vitals within limits", ""),
    "schedule_minutes": ("vital-sign schedule", " min after the dose"),
    "recheck_minutes": ("re-check after an out-of-range value", " min"),
    "minimum_minutes": ("minimum monitoring time", " min"),
}


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k} {_text(v)}" for k, v in value.items()) or "none"
    return str(value)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested models and mappings → {"a.b.c": leaf}; tuples of scalars stay whole."""
    if isinstance(value, BaseModel):
        value = {name: getattr(value, name) for name in type(value).model_fields}
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
        return {prefix: [item.model_dump(mode="json") for item in value]}
    return {prefix: value}


def _changes(old: Any, new: Any, unit: str = "") -> Iterator[str]:
    before, after = _flatten(old), _flatten(new)
    for key in sorted(set(before) | set(after)):
        if before.get(key) == after.get(key):
            continue
        words, suffix = _WORDS.get(key, (key.replace("_", " ").replace(".", " "), ""))
        suffix = suffix or (f" {unit}" if unit and key in ("initial_doses", "max_per_session") else "")
        yield f"{words} changed from {_text(before.get(key))}{suffix} to {_text(after.get(key))}{suffix}"


def _keyed(items: tuple[Any, ...], key: str) -> dict[str, Any]:
    return {getattr(item, key): item for item in items}


def protocol_diff(old: Protocol, new: Protocol) -> list[str]:
    lines: list[str] = []
    if (old.code, old.version) != (new.code, new.version):
        lines.append(f"Protocol {old.code} {old.version} → {new.code} {new.version}")
    if old.title != new.title:
        lines.append(f"Title changed from “{old.title}” to “{new.title}”")

    old_visits, new_visits = _keyed(old.visits, "code"), _keyed(new.visits, "code")
    for code in old_visits.keys() - new_visits.keys():
        lines.append(f"Visit {code} ({old_visits[code].name}) removed")
    for code in new_visits.keys() - old_visits.keys():
        visit = new_visits[code]
        lines.append(
            f"Visit {code} ({visit.name}) added: {visit.kind}, {visit.target.days} days after {visit.target.anchor}"
        )
    for code in sorted(old_visits.keys() & new_visits.keys()):
        for change in _changes(old_visits[code], new_visits[code]):
            lines.append(f"Visit {code} ({new_visits[code].name}): {change}")

    for section in ("dosing", "monitoring", "outcomes", "safety"):
        before, after = getattr(old, section), getattr(new, section)
        if before is None and after is None:
            continue
        if before is None or after is None:
            lines.append(f"{section.capitalize()} rules {'added' if before is None else 'removed'}")
            continue
        unit = getattr(after, "unit", "")
        lines.extend(f"{section.capitalize()}: {change}" for change in _changes(before, after, unit))

    old_criteria, new_criteria = _keyed(old.eligibility, "code"), _keyed(new.eligibility, "code")
    for code in sorted(old_criteria.keys() - new_criteria.keys()):
        lines.append(f"Eligibility: {old_criteria[code].kind} criterion {code} removed")
    for code in sorted(new_criteria.keys() - old_criteria.keys()):
        lines.append(
            f"Eligibility: {new_criteria[code].kind} criterion {code} added: {new_criteria[code].text}"
        )
    for code in sorted(old_criteria.keys() & new_criteria.keys()):
        if old_criteria[code] != new_criteria[code]:
            lines.append(f"Eligibility: criterion {code} now reads: {new_criteria[code].text}")

    old_sched = {
        s.instrument: {*s.visits, *(f"every {k.value} visit" for k in s.visit_kinds)} for s in old.instruments
    }
    new_sched = {
        s.instrument: {*s.visits, *(f"every {k.value} visit" for k in s.visit_kinds)} for s in new.instruments
    }
    for instrument in sorted(old_sched.keys() | new_sched.keys()):
        added = sorted(new_sched.get(instrument, set()) - old_sched.get(instrument, set()))
        removed = sorted(old_sched.get(instrument, set()) - new_sched.get(instrument, set()))
        if added:
            lines.append(f"Instruments: {instrument} added at {', '.join(added)}")
        if removed:
            lines.append(f"Instruments: {instrument} no longer at {', '.join(removed)}")
    return lines
