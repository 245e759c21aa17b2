"""Reading protocol files and checking them whole. Pure: no Django.

``load_protocol(path)`` / ``parse_protocol(text, source)`` return a ``Protocol`` or raise
``ProtocolInvalid`` with every problem found, each as ``source: path: message``, e.g.
``mdma-ptsd.yaml: visits[3].window.after: must be ≥ 0``. Shape problems (types, ranges, unknown
fields) come from the schema; cross-references (anchors, phases, instrument visits, outcome visits,
cycles) are checked after the shape is right, so a file is never half-checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from haven.protocols.schema import Protocol, Visit, VisitKind

ENROLLMENT = "enrollment"


@dataclass(frozen=True)
class Problem:
    source: str
    path: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.source}: {self.path}: {self.message}" if self.path else f"{self.source}: {self.message}"
        )


class ProtocolInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _path(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _message(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "greater_than_equal":
        return f"must be ≥ {ctx['ge']}"
    if kind == "greater_than":
        return f"must be > {ctx['gt']}"
    if kind == "less_than_equal":
        return f"must be ≤ {ctx['le']}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of the protocol format"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx['pattern']}"
    if kind in ("enum", "literal_error"):
        return f"must be one of {ctx['expected']}"
    if kind == "string_too_short":
        return (
            "must not be empty"
            if ctx.get("min_length") == 1
            else f"must have at least {ctx['min_length']} characters"
        )
    if kind == "too_short":
        return f"must have at least {ctx['min_length']} item(s)"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


def expanded_codes(visit: Visit) -> list[str]:
    """The codes a definition stands for: itself, or ``code-1`` … ``code-n`` when repeated."""
    if visit.repeat is None:
        return [visit.code]
    return [f"{visit.code}-{n}" for n in range(1, visit.repeat.count + 1)]


def _cross_reference_problems(protocol: Protocol) -> Iterator[tuple[str, str]]:
    phases = {phase.code for phase in protocol.phases}
    seen_phases: set[str] = set()
    for i, phase in enumerate(protocol.phases):
        if phase.code in seen_phases:
            yield f"phases[{i}].code", f"{phase.code!r} is used twice"
        seen_phases.add(phase.code)

    codes: dict[str, int] = {}
    for i, visit in enumerate(protocol.visits):
        for code in expanded_codes(visit):
            if code in codes or code == ENROLLMENT:
                yield f"visits[{i}].code", f"{code!r} is used twice (or is reserved)"
            codes[code] = i
        if visit.phase not in phases:
            yield (
                f"visits[{i}].phase",
                f"{visit.phase!r} is not one of the phases ({', '.join(sorted(phases))})",
            )
        if (
            visit.target.anchor != ENROLLMENT
            and visit.target.anchor not in codes
            and not any(visit.target.anchor in expanded_codes(v) for v in protocol.visits)
        ):
            yield (
                f"visits[{i}].target.anchor",
                f"{visit.target.anchor!r} is neither 'enrollment' nor a visit code",
            )

    # Anchors must not loop back on themselves.
    anchors = {v.code: v.target.anchor for v in protocol.visits}
    for v in protocol.visits:
        for code in expanded_codes(v):
            anchors[code] = v.target.anchor
    for i, visit in enumerate(protocol.visits):
        chain, current = [visit.code], visit.target.anchor
        while current != ENROLLMENT and current in anchors:
            if current in chain:
                yield f"visits[{i}].target.anchor", f"anchors form a loop: {' → '.join([*chain, current])}"
                break
            chain.append(current)
            current = anchors[current]

    has_dosing_visit = any(v.kind == VisitKind.DOSING for v in protocol.visits)
    if has_dosing_visit and protocol.dosing is None:
        yield "dosing", "is required when the protocol has dosing visits"
    if has_dosing_visit and protocol.monitoring is None:
        yield "monitoring", "is required when the protocol has dosing visits"

    criteria: set[str] = set()
    for i, criterion in enumerate(protocol.eligibility):
        if criterion.code in criteria:
            yield f"eligibility[{i}].code", f"{criterion.code!r} is used twice"
        criteria.add(criterion.code)

    for i, schedule in enumerate(protocol.instruments):
        for j, code in enumerate(schedule.visits):
            if code not in codes:
                yield f"instruments[{i}].visits[{j}]", f"{code!r} is not a visit code"

    if protocol.outcomes is not None:
        outcomes = protocol.outcomes
        scheduled = {
            code
            for s in protocol.instruments
            if s.instrument == outcomes.primary_instrument
            for code in s.visits
        }
        for field in ("baseline_visit", "endpoint_visit"):
            code = getattr(outcomes, field)
            if code not in codes:
                yield f"outcomes.{field}", f"{code!r} is not a visit code"
            elif code not in scheduled:
                yield f"outcomes.{field}", f"{outcomes.primary_instrument} is not scheduled at {code!r}"


def parse_protocol(text: str, source: str = "<protocol>") -> Protocol:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ProtocolInvalid(
            [Problem(source, where, f"not valid YAML ({getattr(exc, 'problem', exc)})")]
        ) from None
    if not isinstance(data, dict):
        raise ProtocolInvalid([Problem(source, "", "a protocol file must be a mapping of fields")])
    # Top-level keys starting with "x-" hold YAML anchors for reuse (as in Compose files); they are
    # not part of the protocol itself.
    data = {key: value for key, value in data.items() if not str(key).startswith("x-")}
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A list whose items failed also reports itself as too short; the items' own errors say more.
        nested = {tuple(e["loc"][:n]) for e in errors for n in range(1, len(e["loc"]))}
        problems = [
            Problem(source, _path(e["loc"]), _message(e))
            for e in errors
            if not (e["type"] == "too_short" and tuple(e["loc"]) in nested)
        ]
        raise ProtocolInvalid(problems) from None
    problems = [Problem(source, path, message) for path, message in _cross_reference_problems(protocol)]
    if problems:
        raise ProtocolInvalid(problems)
    return protocol


def load_protocol(path: str | Path) -> Protocol:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProtocolInvalid([Problem(path.name, "", f"cannot be read ({exc.strerror})")]) from None
    return parse_protocol(text, source=path.name)


SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"


def shipped_protocol_files() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*.yaml"))
