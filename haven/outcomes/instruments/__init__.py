"""Rating instruments as pure modules (no Django): items, answers, scoring, FHIR Questionnaire.

One module per instrument (``pcl5``, ``phq9``, ``gad7``, ``cssrs_screener``, ``audit``,
``treatment_guess``, ``suds``, ``caps5_past_month``, ``madrs``), each with its sources, its
missing-item rule and its scorer. This package keeps the registry and the functions an API needs:

- ``INSTRUMENTS`` and ``get(code)``: the definitions (``definition(code)`` as JSON);
- ``validate(code, answers, options=...)``: field errors keyed by item code;
- ``score(code, answers, options=...)``: a ``Score``, or ``InstrumentAnswerError`` naming each bad
  field (an API answers 422), or ``UnknownInstrument`` (404);
- ``questionnaire(code)`` and ``questionnaire_response(code, answers, ...)``: FHIR R4 JSON.

``options`` are per-site or per-study settings an instrument declares (the PCL-5 cut-point, the
treatment-guess arms); bad settings are reported like bad answers, keyed ``options.<name>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from haven.outcomes.instruments import (
    audit,
    caps5_past_month,
    cssrs_screener,
    fhir,
    gad7,
    madrs,
    pcl5,
    phq9,
    suds,
    treatment_guess,
)
from haven.outcomes.instruments.base import (
    Answer,
    AnswerOption,
    EnableWhen,
    Flag,
    Instrument,
    InstrumentAnswerError,
    Item,
    OptionSpec,
    Score,
    UnknownInstrument,
)
from haven.outcomes.instruments.validation import check, options_for
from haven.outcomes.instruments.validation import validate as _validate

# JSON objects as ``json.loads`` gives them.
Json = dict[str, Any]

__all__ = [
    "INSTRUMENTS",
    "Answer",
    "AnswerOption",
    "EnableWhen",
    "Flag",
    "Instrument",
    "InstrumentAnswerError",
    "Item",
    "Json",
    "OptionSpec",
    "Score",
    "UnknownInstrument",
    "definition",
    "get",
    "questionnaire",
    "questionnaire_response",
    "score",
    "validate",
]

INSTRUMENTS: dict[str, Instrument] = {
    module.INSTRUMENT.code: module.INSTRUMENT
    for module in (pcl5, phq9, gad7, cssrs_screener, audit, treatment_guess, suds, caps5_past_month, madrs)
}


def get(code: str) -> Instrument:
    """The instrument with this code, or ``UnknownInstrument``."""
    try:
        return INSTRUMENTS[code]
    except KeyError:
        raise UnknownInstrument(code) from None


def _instrument(instrument: str | Instrument) -> Instrument:
    return instrument if isinstance(instrument, Instrument) else get(instrument)


def validate(
    instrument: str | Instrument,
    answers: Mapping[str, object],
    *,
    options: Mapping[str, object] | None = None,
) -> dict[str, list[str]]:
    """Field errors keyed by item code (settings as ``options.<name>``); empty when all is well."""
    return _validate(_instrument(instrument), answers, options=options)


def score(
    instrument: str | Instrument,
    answers: Mapping[str, object],
    *,
    options: Mapping[str, object] | None = None,
) -> Score:
    """Score the answers (stateless). Raises ``InstrumentAnswerError`` naming every bad field."""
    found = _instrument(instrument)
    cleaned, resolved = check(found, answers, options)
    return found.scorer(cleaned, resolved)


def questionnaire(
    instrument: str | Instrument,
    *,
    options: Mapping[str, object] | None = None,
    base: str = fhir.DEFAULT_BASE,
) -> Json:
    """The instrument as a FHIR R4 Questionnaire (JSON-ready)."""
    found = _instrument(instrument)
    return fhir.questionnaire(found, options_for(found, options), base=base)


def questionnaire_response(
    instrument: str | Instrument,
    answers: Mapping[str, object],
    *,
    subject_reference: str,
    authored: datetime,
    author_reference: str | None = None,
    score: Score | None = None,
    options: Mapping[str, object] | None = None,
    base: str = fhir.DEFAULT_BASE,
) -> Json:
    """The answers as a completed FHIR R4 QuestionnaireResponse, the score included.

    ``score`` is computed when not given. ``authored`` must be timezone-aware.
    """
    found = _instrument(instrument)
    cleaned, resolved = check(found, answers, options)
    result = score if score is not None else found.scorer(cleaned, resolved)
    if result.instrument != found.code:
        raise ValueError(f"a {result.instrument} score given for a {found.code} response")
    return fhir.questionnaire_response(
        found,
        resolved,
        cleaned,
        result,
        subject_reference=subject_reference,
        authored=authored,
        author_reference=author_reference,
        base=base,
    )


def _option_json(option: AnswerOption) -> dict[str, object]:
    return {"value": option.value, "label": option.label, "loinc_answer": option.loinc_answer}


def _item_json(item: Item) -> dict[str, object]:
    return {
        "code": item.code,
        "label": item.label,
        "text": item.text,
        "kind": item.kind,
        "options": [_option_json(option) for option in item.options] if item.options is not None else None,
        "minimum": item.minimum,
        "maximum": item.maximum,
        "max_length": item.max_length,
        "loinc": item.loinc,
        "required": item.required,
        "scored": item.scored,
        "enable_when": [
            {"question": condition.question, "answer": condition.answer} for condition in item.enable_when
        ],
    }


def _setting_json(spec: OptionSpec) -> dict[str, object]:
    default: object = (
        [_option_json(option) for option in spec.default] if isinstance(spec.default, tuple) else spec.default
    )
    return {
        "name": spec.name,
        "description": spec.description,
        "kind": spec.kind,
        "default": default,
        "minimum": spec.minimum,
        "maximum": spec.maximum,
    }


def definition(instrument: str | Instrument, *, options: Mapping[str, object] | None = None) -> Json:
    """Everything about the instrument except its scorer, JSON-ready (for ``GET /instruments``)."""
    found = _instrument(instrument)
    resolved = options_for(found, options)
    return {
        "code": found.code,
        "name": found.name,
        "version": found.version,
        "edition": found.edition,
        "recall_period": found.recall_period,
        "licence": found.licence,
        "text_included": found.text_included,
        "loinc_panel": found.loinc_panel,
        "loinc_total": found.loinc_total,
        "total_range": list(found.total_range) if found.total_range is not None else None,
        "instructions": found.instructions,
        "missing_rule": found.missing_rule,
        "respondents": list(found.respondents),
        "scorer_version": found.scorer_version,
        "sources": list(found.sources),
        "settings": [_setting_json(spec) for spec in found.options],
        "items": [_item_json(item) for item in found.items_for(resolved)],
    }
