"""Instruments as FHIR R4 Questionnaires, responses as QuestionnaireResponses. Pure, no Django.

Shapes (FHIR R4, 4.0.1):

- ``Questionnaire.url`` is ``{base}/Questionnaire/{id}`` with ``id`` the instrument code with "-"
  for "_" (FHIR ids allow no underscore); ``identifier`` carries the instrument code itself;
  ``version`` is the instrument's edition; ``code`` the LOINC panel when there is one.
- One item per instrument item, ``linkId`` = the item code (what ``answers`` is keyed by), ``code``
  its LOINC code when known. Choice answers are ``answerOption.valueCoding``: the LOINC answer code
  when known, else a code in ``{base}/CodeSystem/{item code}`` (the value as a string), each with the
  R4 ``ordinalValue`` extension when the value is a number. Integer items carry the ``minValue`` and
  ``maxValue`` extensions. Skip logic is ``enableWhen``.
- Licensed instruments have no wording: each item's ``text`` is Haven's neutral label ("CAPS-5 item
  B1 severity, 0-4 (licensed; wording not included)").
- Instruments with a total get one more, read-only item ``{code}_total`` coded with the LOINC total
  code when there is one; the response fills it with the score.
- The response also carries the whole score (band, subscores, flags, risk level, the missing-item
  rule applied, the scorer version) in one complex extension, ``{base}/StructureDefinition/
  instrument-score``.

``base`` defaults to ``DEFAULT_BASE``, a reserved ``.invalid`` name (RFC 2606), until a deployment
passes its own canonical base.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from haven.outcomes.instruments.base import Answer, Instrument, Item, Options, Score

DEFAULT_BASE = "https://haven.invalid/fhir"
LOINC = "http://loinc.org"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
IDENTIFIER_SYSTEM = "urn:haven:instrument"

FhirJson = dict[str, Any]


def fhir_id(code: str) -> str:
    return code.replace("_", "-")


def total_link_id(instrument: Instrument) -> str:
    return f"{instrument.code}_total"


def canonical(instrument: Instrument, base: str = DEFAULT_BASE) -> str:
    return f"{base}/Questionnaire/{fhir_id(instrument.code)}"


def _computable_name(instrument: Instrument) -> str:
    return "".join(part.capitalize() for part in instrument.code.split("_"))


def _coding(item: Item, value: Answer, base: str) -> FhirJson:
    option = item.option(value)
    if option is None:
        raise ValueError(f"{item.code}: {value!r} is not an option")
    if option.loinc_answer:
        return {"system": LOINC, "code": option.loinc_answer, "display": option.label}
    return {
        "system": f"{base}/CodeSystem/{fhir_id(item.code)}",
        "code": str(option.value),
        "display": option.label,
    }


def _item(instrument: Instrument, item: Item, base: str) -> FhirJson:
    out: FhirJson = {
        "linkId": item.code,
        "text": item.text if item.text is not None else item.label,
        "type": item.kind,  # Haven's item kinds are FHIR item types by name.
        "required": item.required,
    }
    if item.loinc:
        out["code"] = [{"system": LOINC, "code": item.loinc}]
    if item.kind == "choice":
        options = []
        for option in item.options or ():
            answer: FhirJson = {"valueCoding": _coding(item, option.value, base)}
            if isinstance(option.value, int):
                answer["extension"] = [{"url": ORDINAL_VALUE, "valueDecimal": option.value}]
            options.append(answer)
        out["answerOption"] = options
    if item.kind == "integer":
        extensions = []
        if item.minimum is not None:
            extensions.append({"url": MIN_VALUE, "valueInteger": item.minimum})
        if item.maximum is not None:
            extensions.append({"url": MAX_VALUE, "valueInteger": item.maximum})
        if extensions:
            out["extension"] = extensions
    if item.kind == "text" and item.max_length is not None:
        out["maxLength"] = item.max_length
    if item.enable_when:
        out["enableWhen"] = [
            {
                "question": condition.question,
                "operator": "=",
                **_answer_value(instrument, condition.question, condition.answer, base, "answer"),
            }
            for condition in item.enable_when
        ]
        out["enableBehavior"] = "all"
    return out


def _answer_value(instrument: Instrument, code: str, value: Answer, base: str, prefix: str) -> FhirJson:
    item = instrument.item(code)
    if item is None:
        raise ValueError(f"{code} is not an item of {instrument.code}")
    if item.kind == "choice":
        return {f"{prefix}Coding": _coding(item, value, base)}
    if item.kind == "boolean":
        return {f"{prefix}Boolean": value}
    if item.kind == "integer":
        return {f"{prefix}Integer": value}
    return {f"{prefix}String": value}


def questionnaire(instrument: Instrument, options: Options, *, base: str = DEFAULT_BASE) -> FhirJson:
    """The instrument as a FHIR R4 Questionnaire (JSON-ready dict)."""
    description = (
        f"{instrument.edition}. Recall period: {instrument.recall_period}. "
        f"Missing items: {instrument.missing_rule}"
    )
    if instrument.instructions:
        description = f"{instrument.instructions}\n\n{description}"
    resource: FhirJson = {
        "resourceType": "Questionnaire",
        "id": fhir_id(instrument.code),
        "url": canonical(instrument, base),
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": instrument.code}],
        "version": instrument.version,
        "name": _computable_name(instrument),
        "title": instrument.name,
        "status": "active",
        "subjectType": ["Patient"],
        "description": description,
        "copyright": instrument.licence,
    }
    if instrument.loinc_panel:
        resource["code"] = [{"system": LOINC, "code": instrument.loinc_panel}]
    items = [
        _item(instrument_with(instrument, options), item, base) for item in instrument.items_for(options)
    ]
    if instrument.total_range is not None:
        total: FhirJson = {
            "linkId": total_link_id(instrument),
            "text": f"{instrument.name}: total score ({instrument.total_range[0]}-{instrument.total_range[1]})",
            "type": "integer",
            "readOnly": True,
            "required": False,
        }
        if instrument.loinc_total:
            total["code"] = [{"system": LOINC, "code": instrument.loinc_total}]
        items.append(total)
    resource["item"] = items
    return resource


def instrument_with(instrument: Instrument, options: Options) -> Instrument:
    """The instrument with its items as asked under these settings (for lookups by code)."""
    return replace(instrument, items=instrument.items_for(options), items_hook=None)


def _score_extension(score: Score, base: str) -> FhirJson:
    parts: list[FhirJson] = [
        {"url": "scorerVersion", "valueString": score.scorer_version},
        {"url": "complete", "valueBoolean": score.complete},
        {"url": "missingRuleApplied", "valueString": score.missing_rule_applied},
    ]
    if score.total is not None:
        parts.append({"url": "total", "valueInteger": score.total})
    if score.band is not None:
        parts.append({"url": "band", "valueString": score.band})
    if score.band_label is not None:
        parts.append({"url": "bandLabel", "valueString": score.band_label})
    for name, value in score.subscores.items():
        parts.append(
            {
                "url": "subscore",
                "extension": [{"url": "name", "valueString": name}, {"url": "value", "valueInteger": value}],
            }
        )
    for flag in score.flags:
        parts.append(
            {
                "url": "flag",
                "extension": [
                    {"url": "code", "valueCode": flag.code},
                    {"url": "severity", "valueCode": flag.severity},
                    {"url": "message", "valueString": flag.message},
                ],
            }
        )
    if score.risk_level is not None:
        parts.append({"url": "riskLevel", "valueCode": score.risk_level})
    if score.action is not None:
        parts.append({"url": "action", "valueString": score.action})
    if score.diagnosis is not None:
        parts.append({"url": "diagnosis", "valueBoolean": score.diagnosis})
    if score.dissociative_subtype is not None:
        parts.append({"url": "dissociativeSubtype", "valueBoolean": score.dissociative_subtype})
    return {"url": f"{base}/StructureDefinition/instrument-score", "extension": parts}


def questionnaire_response(
    instrument: Instrument,
    options: Options,
    answers: Mapping[str, Answer],
    score: Score,
    *,
    subject_reference: str,
    authored: datetime,
    author_reference: str | None = None,
    base: str = DEFAULT_BASE,
) -> FhirJson:
    """A completed FHIR R4 QuestionnaireResponse for validated ``answers`` and their ``score``."""
    if authored.tzinfo is None or authored.utcoffset() is None:
        raise ValueError("authored must be timezone-aware")
    asked = instrument_with(instrument, options)
    items: list[FhirJson] = []
    for item in asked.items:
        if item.code not in answers:
            continue
        items.append(
            {
                "linkId": item.code,
                "text": item.text if item.text is not None else item.label,
                "answer": [_answer_value(asked, item.code, answers[item.code], base, "value")],
            }
        )
    if instrument.total_range is not None and score.total is not None:
        items.append({"linkId": total_link_id(instrument), "answer": [{"valueInteger": score.total}]})
    resource: FhirJson = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{canonical(instrument, base)}|{instrument.version}",
        "status": "completed",
        "subject": {"reference": subject_reference},
        "authored": authored.isoformat(),
        "extension": [_score_extension(score, base)],
        "item": items,
    }
    if author_reference is not None:
        resource["author"] = {"reference": author_reference}
    return resource
