"""Vital-sign observations posted by bedside devices: parsed and checked. Pure (no Django).

``parse_observations`` reads the JSON body of ``POST /api/v1/sessions/{id}/observations`` in one
of three shapes: Haven's compact form (one ``{"id", "at", "parameter", "value", "unit"}`` object or
``{"observations": [...]}``), a FHIR R4 ``Observation`` of the vital-signs profile (a blood-pressure
panel, 85354-9, yields a systolic and a diastolic reading), or a FHIR R4 ``Bundle`` (batch,
transaction or collection) of such Observations. Values go through ``vitals.normalize``, so they
come out as ``Decimal`` in the stored UCUM unit (°F becomes °C) and impossible values are refused.

Valid items are returned even when others in the same batch are refused; each refused input item
gives one ``ItemError`` naming the field and the rule. A panel is accepted or refused whole.

FHIR is checked with the small pydantic models below, not ``fhir.resources``: its current releases
(7.x, 8.x) ship R5 with R4B and STU3 subpackages but no R4, and the last with R4 (6.x) needs
pydantic 1. The models check only what Haven reads and ignore every other element.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from haven.dosing.vitals import BP_PANEL_LOINC, LOINC, VitalRefused, normalize
from haven.protocols.schema import VITAL_UNITS, VitalSign

MAX_BATCH = 1000
FUTURE_TOLERANCE = timedelta(minutes=5)
LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
SPO2_COMPANION_LOINC = "2708-6"  # "Oxygen saturation in Arterial blood", the profile's companion code
BY_LOINC: dict[str, VitalSign] = {code: vital for vital, code in LOINC.items()} | {
    SPO2_COMPANION_LOINC: VitalSign.SPO2
}
PANEL_PARTS = (VitalSign.SYSTOLIC_BP, VitalSign.DIASTOLIC_BP)


@dataclass(frozen=True)
class ParsedObservation:
    """One accepted reading, in the stored unit; ``loinc`` is None only for SUDS."""

    device_id: str
    at: datetime
    parameter: VitalSign
    value: Decimal
    unit: str
    loinc: str | None


@dataclass(frozen=True)
class ItemError:
    """A refused input item: its position (-1 for the whole body), its id if known, and why."""

    index: int
    device_id: str | None
    reason: str


@dataclass
class ParseResult:
    items: list[ParsedObservation] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)


class _Refused(Exception):
    """An input item is refused; ``reasons`` are ``path: rule`` strings."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class _In(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Compact(_In):
    id: str = Field(min_length=1, max_length=100)
    at: str = Field(max_length=64)
    parameter: str = Field(max_length=40)
    value: Any
    unit: str = Field(max_length=40)


class _Coding(_In):
    system: str | None = None
    code: str | None = None


class _Concept(_In):
    coding: list[_Coding] = Field(min_length=1)


class _Quantity(_In):
    value: Any
    system: Literal["http://unitsofmeasure.org"]
    code: str = Field(max_length=40)


class _Component(_In):
    code: _Concept
    valueQuantity: _Quantity | None = None


class _Identifier(_In):
    value: str = Field(min_length=1, max_length=100)


class _Observation(_In):
    resourceType: Literal["Observation"]
    status: Literal["final", "amended", "preliminary"]
    code: _Concept
    identifier: list[_Identifier] = Field(min_length=1)
    effectiveDateTime: str = Field(max_length=64)
    valueQuantity: _Quantity | None = None
    component: list[_Component] = []


_RULES = {
    "missing": "is required",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
}


def _path(prefix: str, *parts: str | int) -> str:
    text = prefix
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _validate[M: _In](model: type[M], raw: object, prefix: str) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        reasons = []
        for error in exc.errors():
            kind, ctx = error["type"], error.get("ctx", {})
            if kind == "literal_error":
                rule = f"must be {ctx['expected']}"
            elif kind == "string_too_long":
                rule = f"must be at most {ctx['max_length']} characters"
            else:
                rule = _RULES.get(kind, error["msg"][:1].lower() + error["msg"][1:])
            reasons.append(f"{_path(prefix, *error['loc']) or 'body'}: {rule}")
        raise _Refused(reasons) from None


def _when(text: str, where: str, now: datetime) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise _Refused([f"{where}: {text!r} is not an ISO 8601 date and time"]) from None
    if at.utcoffset() is None:
        raise _Refused([f"{where}: needs a time zone"])
    if at > now + FUTURE_TOLERANCE:
        raise _Refused([f"{where}: {text} is more than 5 minutes in the future"])
    return at.astimezone(UTC)


def _reading(
    parameter: str, value: object, unit: str, where: tuple[str, str]
) -> tuple[VitalSign, Decimal, str]:
    """The normalized value; ``where`` are the paths of the value and of the unit."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _Refused([f"{where[0]}: must be a number"])
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    try:
        vital, stored = normalize(parameter, number, unit)
    except VitalRefused as refused:
        target = where[1] if refused.message.startswith("unit ") else where[0]
        raise _Refused([f"{target}: {refused.message}"]) from None
    return vital, stored, VITAL_UNITS[vital]


def _compact(raw: object, prefix: str, now: datetime) -> list[ParsedObservation]:
    item = _validate(_Compact, raw, prefix)
    try:
        parameter = VitalSign(item.parameter)
    except ValueError:
        known = ", ".join(v.value for v in VitalSign)
        raise _Refused([f"{_path(prefix, 'parameter')}: unknown parameter; one of {known}"]) from None
    at = _when(item.at, _path(prefix, "at"), now)
    where = (_path(prefix, "value"), _path(prefix, "unit"))
    vital, value, unit = _reading(parameter, item.value, item.unit, where)
    return [ParsedObservation(item.id, at, vital, value, unit, LOINC.get(vital))]


def _loinc(concept: _Concept, where: str, *, panel: bool) -> str:
    """The vital-sign (or, if ``panel``, BP panel) LOINC code of a ``CodeableConcept``."""
    codes = [c.code for c in concept.coding if c.system == LOINC_SYSTEM and c.code]
    known = [code for code in codes if code in BY_LOINC or (panel and code == BP_PANEL_LOINC)]
    if not codes:
        raise _Refused([f"{where}.coding: needs a coding with system {LOINC_SYSTEM}"])
    if not known:
        raise _Refused([f"{where}.coding: no vital-sign LOINC code (got {', '.join(codes)})"])
    canonical = [code for code in known if code in LOINC.values() or code == BP_PANEL_LOINC]
    return (canonical or known)[0]


def _quantity(vital: VitalSign, quantity: _Quantity | None, where: str) -> tuple[VitalSign, Decimal, str]:
    if quantity is None:
        raise _Refused([f"{where}: is required"])
    return _reading(vital, quantity.value, quantity.code, (f"{where}.value", f"{where}.code"))


def _fhir(raw: object, prefix: str, now: datetime) -> list[ParsedObservation]:
    obs = _validate(_Observation, raw, prefix)
    device_id = obs.identifier[0].value
    code = _loinc(obs.code, _path(prefix, "code"), panel=True)
    at = _when(obs.effectiveDateTime, _path(prefix, "effectiveDateTime"), now)
    if code != BP_PANEL_LOINC:
        vital, value, unit = _quantity(BY_LOINC[code], obs.valueQuantity, _path(prefix, "valueQuantity"))
        return [ParsedObservation(device_id, at, vital, value, unit, code)]
    found: dict[VitalSign, tuple[int, _Component]] = {}
    reasons: list[str] = []
    for i, component in enumerate(obs.component):
        try:
            part = BY_LOINC.get(_loinc(component.code, _path(prefix, "component", i, "code"), panel=False))
        except _Refused:
            continue  # other components (a mean pressure, a device note) are not read
        if part in PANEL_PARTS and part not in found:
            found[part] = (i, component)
    if len(found) < len(PANEL_PARTS):
        codes = " and ".join(LOINC[p] for p in PANEL_PARTS)
        raise _Refused([f"{_path(prefix, 'component')}: a blood pressure panel needs {codes}"])
    items = []
    for part in PANEL_PARTS:
        i, component = found[part]
        try:
            _, value, unit = _quantity(
                part, component.valueQuantity, _path(prefix, "component", i, "valueQuantity")
            )
        except _Refused as refused:
            reasons += refused.reasons
            continue
        items.append(ParsedObservation(f"{device_id}/{LOINC[part]}", at, part, value, unit, LOINC[part]))
    if reasons:
        raise _Refused(reasons)
    return items


def _device_id(raw: object) -> str | None:
    """The id an item claims, read leniently so that refused items can name it."""
    if not isinstance(raw, Mapping):
        return None
    if "resourceType" not in raw:
        found = raw.get("id")
    else:
        identifiers = raw.get("identifier")
        first = identifiers[0] if isinstance(identifiers, list) and identifiers else None
        found = first.get("value") if isinstance(first, Mapping) else None
    return found if isinstance(found, str) and found else None


def _batch(elements: list[tuple[str, object]], now: datetime, *, fhir: bool) -> ParseResult:
    """Parse each ``(path, raw)``; the path's position in the list is the item's index."""
    result = ParseResult()
    if len(elements) > MAX_BATCH:
        result.errors.append(ItemError(-1, None, f"batch: at most {MAX_BATCH} observations"))
        return result
    first_at: dict[str, str] = {}
    for index, (prefix, raw) in enumerate(elements):
        device_id = _device_id(raw)
        try:
            if device_id is not None and device_id in first_at:
                id_path = _path(prefix, "identifier", 0, "value") if fhir else _path(prefix, "id")
                raise _Refused([f"{id_path}: duplicate id in this batch (first at {first_at[device_id]})"])
            if device_id is not None:
                first_at[device_id] = prefix or "body"
            if raw is None and prefix.endswith(".resource"):
                raise _Refused([f"{prefix}: is required"])
            result.items += (_fhir if fhir else _compact)(raw, prefix, now)
        except _Refused as refused:
            result.errors.append(ItemError(index, device_id, "; ".join(refused.reasons)))
    return result


def _whole(reason: str) -> ParseResult:
    return ParseResult(errors=[ItemError(-1, None, reason)])


def parse_observations(payload: object, *, now: datetime) -> ParseResult:
    """Parse what a bedside device posted into checked, normalized vital-sign readings.

    Parameters
    ----------
    payload
        The decoded JSON body: a compact observation or ``{"observations": [...]}``, a FHIR R4
        ``Observation``, or a FHIR R4 ``Bundle`` of Observations. Numbers may be ``int``,
        ``float`` or ``Decimal`` (``json.loads(..., parse_float=Decimal)``); floats are read
        through their shortest ``repr``, so ``36.6`` stays ``Decimal("36.6")``.
    now
        The server's time (aware); readings more than 5 minutes after it are refused.

    Returns
    -------
    ParseResult
        The accepted readings, and one ``ItemError`` per refused item: ``index`` is its position
        in ``observations`` or ``entry`` (0 for a single object, -1 when the whole body is
        refused) and ``reason`` names the field, e.g. ``observations[0].at: needs a time zone``.
        Within a batch, a repeated device id keeps its first item; later ones are refused.

    Raises
    ------
    ValueError
        If ``now`` is naive (a programming error, not a device's).
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(payload, Mapping):
        return _whole("body: must be a JSON object")
    kind = payload.get("resourceType")
    if kind == "Observation":
        return _batch([("", payload)], now, fhir=True)
    if kind == "Bundle":
        if payload.get("type") not in ("batch", "transaction", "collection"):
            return _whole("type: must be 'batch', 'transaction' or 'collection'")
        entries = payload.get("entry")
        if not isinstance(entries, list) or not entries:
            return _whole("entry: must be a non-empty list")
        return _batch(
            [
                (f"entry[{i}].resource", e.get("resource") if isinstance(e, Mapping) else None)
                for i, e in enumerate(entries)
            ],
            now,
            fhir=True,
        )
    if kind is not None:
        return _whole(f"resourceType: must be 'Observation' or 'Bundle', not {repr(kind)[:40]}")
    if "observations" in payload:
        observations = payload["observations"]
        if not isinstance(observations, list) or not observations:
            return _whole("observations: must be a non-empty list")
        return _batch([(f"observations[{i}]", o) for i, o in enumerate(observations)], now, fhir=False)
    return _batch([("", payload)], now, fhir=False)
