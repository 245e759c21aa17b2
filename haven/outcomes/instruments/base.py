"""What every instrument is made of: items, answer options, the instrument itself, and a score.

Pure data (frozen dataclasses), no Django. An instrument module builds one ``Instrument`` and a
scorer; ``validation`` checks answers against it, ``fhir`` turns it into FHIR R4 resources, and the
package's ``__init__`` keeps the registry.

Answers arrive as a mapping of item code → value, as JSON would carry them: ``int`` for choice and
integer items (``bool`` is refused there, although Python counts it as an ``int``), ``bool`` for
yes/no items, ``str`` for text and for choices whose codes are words. ``None`` or an absent key means
"not answered"; what that does to the score is the instrument's missing-item rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

ItemKind = Literal["choice", "integer", "boolean", "text"]
Respondent = Literal["patient", "staff", "rater"]
Severity = Literal["info", "warning", "critical"]

# A validated answer. Never a float: totals stay exact.
Answer = int | bool | str
Answers = Mapping[str, Answer]


@dataclass(frozen=True, slots=True)
class AnswerOption:
    """One answer a choice item offers: the value stored and summed, its label, its LOINC answer code."""

    value: int | str
    label: str
    loinc_answer: str | None = None


@dataclass(frozen=True, slots=True)
class EnableWhen:
    """The item is asked only when ``question`` was answered with ``answer`` (skip logic)."""

    question: str
    answer: Answer


@dataclass(frozen=True, slots=True)
class Item:
    """One question.

    ``text`` is the wording put to the respondent; it is None for licensed instruments, whose
    wording Haven may not ship. ``label`` is Haven's own short name for the item (for headings,
    error messages and the text of licensed items in FHIR), never the instrument's wording.
    ``scored`` items count towards the total; others (PHQ-9's difficulty question) are recorded only.
    ``required`` is what a form should insist on; a missing required item is not a validation error
    but goes to the instrument's missing-item rule, so a partial response can still be scored or
    refused a score with the reason shown.
    """

    code: str
    label: str
    text: str | None
    kind: ItemKind = "choice"
    options: tuple[AnswerOption, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    loinc: str | None = None
    required: bool = True
    scored: bool = True
    enable_when: tuple[EnableWhen, ...] = ()

    def option(self, value: Answer) -> AnswerOption | None:
        """The option with this value, or None (also for a ``bool``, which is no choice value)."""
        if isinstance(value, bool):
            return None
        for option in self.options or ():
            if type(option.value) is type(value) and option.value == value:
                return option
        return None


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """A per-site or per-study setting an instrument accepts, e.g. the PCL-5 cut-point.

    ``kind`` "integer" takes a whole number in [minimum, maximum]; "choices" takes a list of answer
    options, each ``{"code": ..., "label": ...}`` or a bare code string.
    """

    name: str
    description: str
    kind: Literal["integer", "choices"]
    default: int | tuple[AnswerOption, ...]
    minimum: int | None = None
    maximum: int | None = None


OptionValue = int | tuple[AnswerOption, ...]
Options = Mapping[str, OptionValue]


@dataclass(frozen=True, slots=True)
class Flag:
    """Something a clinician must see next to the score. ``code`` is stable; ``message`` is for people."""

    code: str
    message: str
    severity: Severity


@dataclass(frozen=True, slots=True)
class Band:
    """A named score range, inclusive at both ends."""

    low: int
    high: int
    code: str
    label: str


DetailValue = int | str | bool | None


@dataclass(frozen=True)
class Score:
    """What a scorer returns.

    ``total`` is an exact integer (prorated totals are rounded half up, as the rule in
    ``missing_rule_applied`` says) or None when the instrument's missing-item rule gives no score.
    ``subscores`` holds only the subscales that could be computed. ``items_missing`` lists the items
    that were asked but not answered (an item skipped by the instrument's own skip logic is not
    missing). ``details`` carries instrument-specific values that are not worth a field of their own.
    """

    instrument: str
    scorer_version: str
    total: int | None
    complete: bool
    missing_rule_applied: str
    items_missing: tuple[str, ...] = ()
    subscores: Mapping[str, int] = field(default_factory=dict)
    band: str | None = None
    band_label: str | None = None
    flags: tuple[Flag, ...] = ()
    risk_level: str | None = None
    action: str | None = None
    diagnosis: bool | None = None
    dissociative_subtype: bool | None = None
    details: Mapping[str, DetailValue] = field(default_factory=dict)

    def flag(self, code: str) -> Flag | None:
        """The first flag with this code, or None."""
        return next((flag for flag in self.flags if flag.code == code), None)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready copy (flags as objects, mappings as plain dicts)."""
        return {
            "instrument": self.instrument,
            "scorer_version": self.scorer_version,
            "total": self.total,
            "complete": self.complete,
            "missing_rule_applied": self.missing_rule_applied,
            "items_missing": list(self.items_missing),
            "subscores": dict(self.subscores),
            "band": self.band,
            "band_label": self.band_label,
            "flags": [
                {"code": flag.code, "message": flag.message, "severity": flag.severity} for flag in self.flags
            ],
            "risk_level": self.risk_level,
            "action": self.action,
            "diagnosis": self.diagnosis,
            "dissociative_subtype": self.dissociative_subtype,
            "details": dict(self.details),
        }


Scorer = Callable[[Answers, Options], Score]
ItemsHook = Callable[[tuple[Item, ...], Options], tuple[Item, ...]]


@dataclass(frozen=True)
class Instrument:
    """One rating instrument: what is asked, of whom, over what period, and how it is scored.

    ``version`` is a short token without spaces (it ends up in FHIR canonical references): the
    edition, with a "-N" suffix once Haven changes its encoding of that edition. ``edition`` says the
    same for people. ``missing_rule`` is the product's rule for unanswered items, shown next to every
    score.
    ``total_range`` is None for forms that have no total (C-SSRS screener, treatment guess).
    ``items_hook`` lets a setting change the items (the treatment-guess arms of a study).
    ``sources`` are the citations for the items and the scoring rules.
    """

    code: str
    name: str
    version: str
    edition: str
    recall_period: str
    licence: str
    items: tuple[Item, ...]
    missing_rule: str
    respondents: tuple[Respondent, ...]
    scorer: Scorer
    scorer_version: str
    sources: tuple[str, ...]
    loinc_panel: str | None = None
    loinc_total: str | None = None
    total_range: tuple[int, int] | None = None
    instructions: str | None = None
    options: tuple[OptionSpec, ...] = ()
    items_hook: ItemsHook | None = None

    @property
    def text_included(self) -> bool:
        """False for licensed instruments shipped as item codes and scoring rules only."""
        return any(item.text is not None for item in self.items)

    def item(self, code: str) -> Item | None:
        return next((item for item in self.items if item.code == code), None)

    def items_for(self, options: Options) -> tuple[Item, ...]:
        """The items as asked under these settings."""
        if self.items_hook is None:
            return self.items
        return self.items_hook(self.items, options)


class UnknownInstrument(LookupError):
    """No instrument has this code (an API answers 404)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"no instrument {code!r}")
        self.code = code


class InstrumentAnswerError(ValueError):
    """Answers (or settings) that cannot be scored. ``fields`` maps item code → messages.

    Settings are keyed ``options.<name>``. An API turns this into a 422 naming each field.
    """

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.fields = {key: list(messages) for key, messages in fields.items()}
        named = ", ".join(sorted(self.fields))
        super().__init__(f"invalid answers: {named}")
