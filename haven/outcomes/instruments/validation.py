"""Checking answers and settings against an instrument, before any scoring.

``validate`` returns every problem at once, keyed by item code (settings as ``options.<name>``), so
an API can answer one 422 that names each offending field. It does not complain about unanswered
items: those go to the instrument's missing-item rule, which the score reports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from haven.outcomes.instruments.base import (
    Answer,
    AnswerOption,
    Instrument,
    InstrumentAnswerError,
    Item,
    Options,
    OptionSpec,
    OptionValue,
)

_CODE = re.compile(r"^[a-z0-9][a-z0-9_]{0,39}$")


def _describe(value: Answer) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def is_enabled(item: Item, answers: Mapping[str, object]) -> bool:
    """Whether the item is asked, given the other answers (every ``enable_when`` must hold).

    A controlling question left unanswered disables the items that depend on it, as in FHIR.
    """
    for condition in item.enable_when:
        given = answers.get(condition.question)
        if type(given) is not type(condition.answer) or given != condition.answer:
            return False
    return True


def _option_errors(spec: OptionSpec, raw: object) -> tuple[OptionValue | None, list[str]]:
    if spec.kind == "integer":
        low, high = spec.minimum, spec.maximum
        if not isinstance(raw, int) or isinstance(raw, bool):
            return None, ["must be a whole number"]
        if (low is not None and raw < low) or (high is not None and raw > high):
            return None, [f"must be from {low} to {high}"]
        return raw, []
    if not isinstance(raw, list | tuple) or not raw:
        return None, ["must be a non-empty list of choices"]
    choices: list[AnswerOption] = []
    errors: list[str] = []
    for index, entry in enumerate(raw):
        code: object
        label: object
        if isinstance(entry, str):
            code, label = entry, entry
        elif isinstance(entry, Mapping):
            code, label = entry.get("code"), entry.get("label", entry.get("code"))
        else:
            errors.append(f"choice {index + 1} must be a code or an object with code and label")
            continue
        if not isinstance(code, str) or not _CODE.match(code):
            errors.append(f"choice {index + 1}: code must be lower-case letters, digits or _ (at most 40)")
        elif not isinstance(label, str) or not label.strip():
            errors.append(f"choice {index + 1}: label must be non-empty text")
        elif any(choice.value == code for choice in choices):
            errors.append(f"choice {index + 1}: code {code!r} given twice")
        else:
            choices.append(AnswerOption(code, label.strip()))
    if spec.maximum is not None and len(raw) > spec.maximum:
        errors.append(f"at most {spec.maximum} choices")
    if spec.minimum is not None and len(raw) < spec.minimum:
        errors.append(f"at least {spec.minimum} choices")
    return (None, errors) if errors else (tuple(choices), [])


def resolve_options(
    instrument: Instrument, raw: Mapping[str, object] | None
) -> tuple[dict[str, OptionValue], dict[str, list[str]]]:
    """The instrument's settings with defaults filled in, and errors keyed ``options.<name>``."""
    resolved: dict[str, OptionValue] = {spec.name: spec.default for spec in instrument.options}
    errors: dict[str, list[str]] = {}
    specs = {spec.name: spec for spec in instrument.options}
    for name, value in (raw or {}).items():
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(sorted(specs)) or "none"
            errors[f"options.{name}"] = [f"unknown setting for {instrument.code} (settings: {known})"]
            continue
        if value is None:
            continue
        parsed, problems = _option_errors(spec, value)
        if problems:
            errors[f"options.{name}"] = problems
        elif parsed is not None:
            resolved[name] = parsed
    return resolved, errors


def options_for(instrument: Instrument, raw: Mapping[str, object] | None) -> dict[str, OptionValue]:
    """Resolved settings, or ``InstrumentAnswerError`` naming the bad ones."""
    resolved, errors = resolve_options(instrument, raw)
    if errors:
        raise InstrumentAnswerError(errors)
    return resolved


def _as_text_hint(item: Item, value: object) -> str:
    """A note for a number sent as text ("2" for 2), the commonest client mistake."""
    numeric = item.kind == "integer" or any(isinstance(option.value, int) for option in item.options or ())
    if numeric and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return " (a number, not text)"
    return ""


def _item_errors(item: Item, value: object) -> list[str]:
    if item.kind == "choice":
        allowed = ", ".join(_describe(option.value) for option in item.options or ())
        if not isinstance(value, int | str) or item.option(value) is None:
            return [f"must be one of {allowed}{_as_text_hint(item, value)}"]
        return []
    if item.kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [
                f"must be a whole number from {item.minimum} to {item.maximum}{_as_text_hint(item, value)}"
            ]
        if (item.minimum is not None and value < item.minimum) or (
            item.maximum is not None and value > item.maximum
        ):
            return [f"must be a whole number from {item.minimum} to {item.maximum}"]
        return []
    if item.kind == "boolean":
        return [] if isinstance(value, bool) else ["must be true (yes) or false (no)"]
    if not isinstance(value, str):
        return ["must be text"]
    if item.max_length is not None and len(value) > item.max_length:
        return [f"must be at most {item.max_length} characters"]
    return []


def validate(
    instrument: Instrument, answers: Mapping[str, object], *, options: Mapping[str, object] | None = None
) -> dict[str, list[str]]:
    """Field errors keyed by item code; empty when the answers can be scored.

    Refused: unknown item codes, values outside an item's options or range, wrong types (a float,
    a bool where a number is due, a number given as a string), and answers to items the skip logic
    did not ask. ``None`` is "not answered" and never an error.
    """
    resolved, errors = resolve_options(instrument, options)
    items = {item.code: item for item in instrument.items_for(resolved)}
    for code, value in answers.items():
        item = items.get(code)
        if item is None:
            errors[code] = [f"unknown item for {instrument.code}"]
            continue
        if value is None:
            continue
        problems = _item_errors(item, value)
        if not problems and not is_enabled(item, answers):
            problems = [_not_asked(item, items)]
        if problems:
            errors[code] = problems
    return errors


def _not_asked(item: Item, items: Mapping[str, Item]) -> str:
    conditions = []
    for condition in item.enable_when:
        asked = items.get(condition.question)
        option = asked.option(condition.answer) if asked is not None else None
        shown = option.label if option is not None else _describe(condition.answer)
        conditions.append(f"{condition.question} is {shown}")
    return "not asked unless " + " and ".join(conditions)


def clean(instrument: Instrument, answers: Mapping[str, object], options: Options) -> dict[str, Answer]:
    """The answered items only, in the instrument's order, after ``validate`` found nothing wrong."""
    cleaned: dict[str, Answer] = {}
    for item in instrument.items_for(options):
        value = answers.get(item.code)
        if isinstance(value, int | str):  # bool is an int
            cleaned[item.code] = value
    return cleaned


def check(
    instrument: Instrument, answers: Mapping[str, object], options: Mapping[str, object] | None
) -> tuple[dict[str, Answer], dict[str, OptionValue]]:
    """Validated answers and settings, or ``InstrumentAnswerError`` naming every bad field."""
    errors = validate(instrument, answers, options=options)
    if errors:
        raise InstrumentAnswerError(errors)
    resolved = options_for(instrument, options)
    return clean(instrument, answers, resolved), resolved
