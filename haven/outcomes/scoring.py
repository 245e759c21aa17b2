"""Haven's side of the instrument library: names, who completes what, and scoring into plain data.

The library (``haven.outcomes.instruments``) is pure. This module turns its results into what the
models store, and its answer errors into ``ValidationFailed`` naming the item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from haven.core.errors import ValidationFailed
from haven.outcomes import instruments

# Protocol files name instruments briefly; the library's codes are more specific.
ALIASES = {
    "caps5": "caps5_past_month",
    "cssrs": "cssrs_screener",
    "treatment-guess": "treatment_guess",
}


@dataclass(frozen=True)
class Scored:
    scorer_version: str
    total: Decimal | None
    subscores: dict[str, Any] = field(default_factory=dict)
    band: str = ""
    flags: list[dict[str, str]] = field(default_factory=list)
    missing_rule: str = ""
    complete: bool = True
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def suicidality(self) -> list[dict[str, str]]:
        return [f for f in self.flags if f.get("code") == "suicidality"]


def resolve(code: str) -> str | None:
    """The library code for a protocol's (or an API caller's) instrument code; None if unknown."""
    code = ALIASES.get(code, code)
    return code if code in instruments.INSTRUMENTS else None


def definition(code: str) -> Any:
    resolved = resolve(code)
    if resolved is None:
        raise ValidationFailed(f"instrument: unknown instrument {code!r}", fields={"instrument": ["unknown"]})
    return instruments.get(resolved)


def name(code: str) -> str:
    return str(definition(code).name)


def version(code: str) -> str:
    return str(definition(code).version)


def patient_completes(code: str) -> bool:
    return "patient" in tuple(definition(code).respondents)


def score_answers(code: str, answers: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> Scored:
    resolved = resolve(code)
    if resolved is None:
        raise ValidationFailed(f"instrument: unknown instrument {code!r}", fields={"instrument": ["unknown"]})
    try:
        result = instruments.score(resolved, dict(answers), options=dict(options or {}))
    except instruments.InstrumentAnswerError as error:
        fields = {key: list(messages) for key, messages in error.fields.items()}
        first, messages = next(iter(fields.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=fields, code="invalid_answers") from None
    return _plain(result)


def _plain(result: Any) -> Scored:
    total = getattr(result, "total", None)
    flags = [
        {"code": str(f.code), "message": str(f.message), "severity": str(f.severity)}
        for f in getattr(result, "flags", ()) or ()
    ]
    known = {
        "total",
        "subscores",
        "band",
        "flags",
        "missing_rule_applied",
        "complete",
        "scorer_version",
        "instrument",
    }
    detail: dict[str, Any] = {}
    for key, value in _fields(result).items():
        if key in known or value is None or value == () or value == {}:
            continue
        if key == "details":
            detail.update({k: v for k, v in dict(value).items() if v is not None})
        elif isinstance(value, tuple | list):
            detail[key] = [str(v) for v in value]
        else:
            detail[key] = value if isinstance(value, str | int | bool) else str(value)
    return Scored(
        scorer_version=str(result.scorer_version),
        total=Decimal(str(total)) if total is not None else None,
        subscores={
            k: (int(v) if isinstance(v, int) else str(v)) for k, v in (result.subscores or {}).items()
        },
        band=str(getattr(result, "band_label", None) or getattr(result, "band", None) or ""),
        flags=flags,
        missing_rule=str(getattr(result, "missing_rule_applied", "") or ""),
        complete=bool(getattr(result, "complete", True)),
        detail=detail,
    )


def _fields(result: Any) -> dict[str, Any]:
    if hasattr(result, "model_dump"):
        return dict(result.model_dump())
    if hasattr(result, "__dataclass_fields__"):
        return {name: getattr(result, name) for name in result.__dataclass_fields__ if name != "flags"}
    return dict(vars(result))


YES_NO = [("true", "Yes"), ("false", "No")]


@dataclass(frozen=True)
class ItemView:
    """One question as a form shows it."""

    code: str
    label: str
    text: str
    kind: str
    options: list[tuple[str, str]]
    minimum: int | None
    maximum: int | None
    required: bool
    shown_when: list[tuple[str, str]]


def items(code: str) -> list[ItemView]:
    views = []
    for item in definition(code).items:
        views.append(
            ItemView(
                code=item.code,
                label=item.label,
                text=item.text or item.label,
                kind=item.kind,
                options=[(str(o.value), o.label) for o in (item.options or ())],
                minimum=item.minimum,
                maximum=item.maximum,
                required=item.required,
                shown_when=[
                    (e.question, str(e.answer).lower() if isinstance(e.answer, bool) else str(e.answer))
                    for e in item.enable_when
                ],
            )
        )
    return views


def parse_form(code: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Answers from a submitted HTML form, typed as the instrument expects (ints, booleans, text).
    Empty fields are left out (not answered); a value that does not parse is passed on as text so
    the instrument's validation names the item."""
    answers: dict[str, Any] = {}
    for item in definition(code).items:
        raw = data.get(item.code)
        if raw in (None, ""):
            continue
        raw = str(raw).strip()
        if item.kind == "boolean":
            answers[item.code] = {"true": True, "yes": True, "false": False, "no": False}.get(
                raw.lower(), raw
            )
        elif item.kind in ("choice", "integer"):
            options = item.options or ()
            if options and all(isinstance(o.value, str) for o in options):
                answers[item.code] = raw
            else:
                try:
                    answers[item.code] = int(raw)
                except ValueError:
                    answers[item.code] = raw
        else:
            answers[item.code] = raw
    return answers
