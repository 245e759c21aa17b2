"""The eligibility engine: a protocol's criteria over a candidate's screening facts. Pure.

Each rule gives a ``Truth``: true, false, or unknown (missing data), with the value seen, the
threshold, one sentence a physician can read, and — for facts that change on a known day, such as
a washout ending or a birthday — the day it flips. Criteria turn that into met, not met, missing or
pending-until-a-date; the evaluation as a whole is eligible, ineligible, incomplete, or eligible
from a date. Missing data never counts as a pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from haven.protocols.rules import (
    OP_WORDS,
    AgeRule,
    AnyRule,
    ConditionDurationRule,
    ConditionRule,
    CssrsRiskRule,
    FlagRule,
    MeasureBySexRule,
    MeasureRule,
    MedicationWashoutRule,
    NotRule,
    Op,
    Rule,
)
from haven.protocols.schema import Criterion, CriterionKind
from haven.screening.facts import CSSRS_LEVELS, Measurement, ScreeningFacts

LABELS = {
    "caps5_total": "CAPS-5 total",
    "pcl5_total": "PCL-5 total",
    "madrs_total": "MADRS total",
    "qtc": "QTc",
    "systolic_bp": "Systolic BP",
    "diastolic_bp": "Diastolic BP",
    "heart_rate": "Heart rate",
    "alt": "ALT",
    "ast": "AST",
    "bilirubin": "Bilirubin",
    "sodium": "Sodium",
    "creatinine": "Creatinine",
    "weight": "Weight",
    "height": "Height",
    "bmi": "BMI",
}
UNIT_WORDS = {"mm[Hg]": "mmHg", "/min": "/min", "Cel": "°C", "[degF]": "°F", "umol/L": "µmol/L", "ms": "ms"}

# Conversions offered: (from unit, to unit) → factor, per field where the factor is analyte-specific.
_FACTORS: dict[tuple[str, str, str], Decimal] = {
    ("bilirubin", "mg/dL", "umol/L"): Decimal("17.104"),
    ("creatinine", "mg/dL", "umol/L"): Decimal("88.42"),
    ("sodium", "meq/L", "mmol/L"): Decimal(1),
    ("alt", "[IU]/L", "U/L"): Decimal(1),
    ("ast", "[IU]/L", "U/L"): Decimal(1),
    ("weight", "[lb_av]", "kg"): Decimal("0.45359237"),
    ("height", "[in_i]", "cm"): Decimal("2.54"),
}


def convert(field: str, value: Decimal, unit: str, to: str) -> Decimal | None:
    """``value`` in ``unit`` expressed in ``to``; None when Haven offers no such conversion."""
    if not to or unit == to:
        return value
    if (unit, to) == ("[degF]", "Cel"):
        return (value - 32) * 5 / 9
    if (unit, to) == ("Cel", "[degF]"):
        return value * 9 / 5 + 32
    factor = _FACTORS.get((field, unit, to))
    if factor is not None:
        return value * factor
    inverse = _FACTORS.get((field, to, unit))
    if inverse is not None:
        return value / inverse
    return None


def _num(value: Decimal) -> str:
    rounded = value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP).normalize()
    return format(rounded, "f")


def _with_unit(value: Decimal, unit: str) -> str:
    word = UNIT_WORDS.get(unit, unit)
    return f"{_num(value)} {word}".strip() if word else _num(value)


@dataclass(frozen=True)
class Truth:
    value: bool | None  # None: the data needed are missing
    message: str
    observed: str = ""
    threshold: str = ""
    flips_on: date | None = None  # the day the value changes by itself (washout end, birthday)


def _compare(a: Decimal, op: Op, b: Decimal) -> bool:
    return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b, "eq": a == b}[op]


_VERBS = {
    ("gt", True): "exceeds",
    ("gt", False): "does not exceed",
    ("ge", True): "is at least",
    ("ge", False): "is below",
    ("lt", True): "is below",
    ("lt", False): "is not below",
    ("le", True): "is at most",
    ("le", False): "exceeds",
    ("eq", True): "equals",
    ("eq", False): "does not equal",
}


def _reading(
    facts: ScreeningFacts, field: str, unit: str, aggregate: str, min_readings: int
) -> tuple[Decimal | None, str]:
    """The value to compare (in ``unit``), or None and the reason it is missing."""
    label = LABELS.get(field, field)
    readings: Sequence[Measurement] = facts.measurements.get(field, ())
    if len(readings) < min_readings:
        need = f"{min_readings} readings" if min_readings > 1 else "a value"
        return None, f"{label}: {need} needed, {len(readings)} recorded"
    values = []
    for reading in readings:
        converted = convert(field, reading.value, reading.unit, unit)
        if converted is None:
            return None, f"{label}: recorded in {reading.unit}, which Haven cannot convert to {unit}"
        values.append(converted)
    if aggregate == "mean":
        return sum(values, Decimal(0)) / len(values), ""
    if aggregate == "max":
        return max(values), ""
    if aggregate == "min":
        return min(values), ""
    latest = max(zip(readings, values, strict=True), key=lambda pair: (pair[0].at is not None, pair[0].at))
    return latest[1], ""


def _measure(
    field: str,
    op: Op,
    limit: Decimal,
    unit: str,
    aggregate: str,
    min_readings: int,
    facts: ScreeningFacts,
    note: str = "",
) -> Truth:
    value, missing = _reading(facts, field, unit, aggregate, min_readings)
    label = LABELS.get(field, field)
    threshold = f"{OP_WORDS[op]} {_with_unit(limit, unit)}{note}"
    if value is None:
        return Truth(None, f"Missing: {missing}.", threshold=threshold)
    truth = _compare(value, op, limit)
    shown = ("mean " if aggregate == "mean" else "") + _with_unit(value, unit)
    message = f"{label} {shown} {_VERBS[(op, truth)]} {_with_unit(limit, unit)}{note}."
    return Truth(truth, message, observed=f"{label} {shown}", threshold=threshold)


def _age(rule: AgeRule, facts: ScreeningFacts, today: date) -> Truth:
    if facts.date_of_birth is None:
        return Truth(None, "Missing: date of birth.", threshold=f"age {OP_WORDS[rule.op]} {rule.years}")
    born = facts.date_of_birth
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    truth = _compare(Decimal(age), rule.op, Decimal(rule.years))
    birthday = _add_years(born, rule.years + (1 if rule.op in ("gt", "le") else 0))
    flips = birthday if birthday > today else None
    message = f"Age {age} {_VERBS[(rule.op, truth)]} {rule.years}."
    return Truth(
        truth, message, observed=f"age {age}", threshold=f"{OP_WORDS[rule.op]} {rule.years}", flips_on=flips
    )


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # unreachable


def _condition(rule: ConditionRule, facts: ScreeningFacts) -> Truth:
    section = "psychiatric_history" if rule.category == "psychiatric" or rule.codes else "medical_history"
    wanted = rule.category or ", ".join(rule.codes) or ", ".join(rule.name_contains)
    if section not in facts.sections_complete:
        return Truth(
            None, f"Missing: the {section.replace('_', ' ')} section is not complete.", threshold=wanted
        )
    for condition in facts.conditions:
        if rule.current_only and not condition.current:
            continue
        if rule.category and condition.category != rule.category:
            continue
        if rule.codes and condition.code not in rule.codes:
            continue
        if rule.name_contains and not any(w.lower() in condition.name.lower() for w in rule.name_contains):
            continue
        when = "current" if condition.current else "past"
        return Truth(
            True,
            f"History of {condition.name} ({condition.category}, {when}).",
            observed=condition.name,
            threshold=wanted,
        )
    return Truth(False, f"No history matching {wanted}.", observed="none", threshold=wanted)


def _duration(rule: ConditionDurationRule, facts: ScreeningFacts, today: date) -> Truth:
    threshold = f"{rule.code} for ≥ {rule.at_least_months} months"
    if "psychiatric_history" not in facts.sections_complete:
        return Truth(None, "Missing: the psychiatric history section is not complete.", threshold=threshold)
    found = [c for c in facts.conditions if c.code == rule.code and c.current]
    if not found:
        return Truth(False, f"No current {rule.code} recorded.", observed="none", threshold=threshold)
    onset = min((c.onset for c in found if c.onset is not None), default=None)
    if onset is None:
        return Truth(None, f"Missing: the onset of {rule.code}.", threshold=threshold)
    reached = _add_months(onset, rule.at_least_months)
    truth = reached <= today
    message = f"{rule.code} since {onset:%Y-%m-%d}: {'at least' if truth else 'less than'} {rule.at_least_months} months."
    return Truth(
        truth,
        message,
        observed=f"onset {onset:%Y-%m-%d}",
        threshold=threshold,
        flips_on=None if truth else reached,
    )


def _washout(rule: MedicationWashoutRule, facts: ScreeningFacts, today: date) -> Truth:
    threshold = f"no {', '.join(rule.classes)} within its washout"
    if "medications" not in facts.sections_complete:
        return Truth(None, "Missing: the medications section is not complete.", threshold=threshold)
    ongoing = []
    ends: list[tuple[date, str]] = []
    for medication in facts.medications:
        if medication.drug_class not in rule.classes:
            continue
        if medication.stop is None:
            ongoing.append(f"{medication.name} ({medication.drug_class}) is still being taken")
            continue
        end = medication.stop + timedelta(days=facts.washout_days.get(medication.drug_class, 0))
        if end > today:
            ends.append(
                (
                    end,
                    f"{medication.name} ({medication.drug_class}) stopped {medication.stop:%Y-%m-%d}, washout ends {end:%Y-%m-%d}",
                )
            )
    if ongoing:
        return Truth(True, "; ".join(ongoing) + ".", observed=ongoing[0], threshold=threshold)
    if ends:
        last = max(ends)
        return Truth(
            True,
            "; ".join(text for _, text in sorted(ends)) + ".",
            observed=last[1],
            threshold=threshold,
            flips_on=last[0],
        )
    return Truth(
        False, f"No {', '.join(rule.classes)} within its washout.", observed="none", threshold=threshold
    )


def _flag(rule: FlagRule, facts: ScreeningFacts) -> Truth:
    value = facts.flags.get(rule.name)
    words = rule.name.replace("_", " ")
    if value is None:
        return Truth(None, f"Missing: {words}.", threshold=words)
    return Truth(
        value,
        f"{words.capitalize()}: {'yes' if value else 'no'}.",
        observed="yes" if value else "no",
        threshold=words,
    )


def _cssrs(rule: CssrsRiskRule, facts: ScreeningFacts) -> Truth:
    threshold = f"C-SSRS risk {rule.at_least} or above"
    if facts.cssrs_risk is None:
        return Truth(None, "Missing: the C-SSRS screener.", threshold=threshold)
    truth = CSSRS_LEVELS.index(facts.cssrs_risk) >= CSSRS_LEVELS.index(rule.at_least)
    return Truth(truth, f"C-SSRS risk {facts.cssrs_risk}.", observed=facts.cssrs_risk, threshold=threshold)


def evaluate_rule(rule: Rule, facts: ScreeningFacts, today: date) -> Truth:
    if isinstance(rule, MeasureRule):
        return _measure(rule.field, rule.op, rule.value, rule.unit, rule.aggregate, rule.min_readings, facts)
    if isinstance(rule, MeasureBySexRule):
        sex = facts.sex or "unknown"
        if sex in ("female", "male"):
            limit, note = (rule.female if sex == "female" else rule.male), f" ({sex} limit)"
        else:
            stricter = min if rule.op in ("gt", "ge") else max
            limit, note = (
                (rule.other if rule.other is not None else stricter(rule.female, rule.male)),
                " (limit when sex is not female or male)",
            )
        return _measure(rule.field, rule.op, limit, rule.unit, rule.aggregate, 1, facts, note)
    if isinstance(rule, AgeRule):
        return _age(rule, facts, today)
    if isinstance(rule, ConditionRule):
        return _condition(rule, facts)
    if isinstance(rule, ConditionDurationRule):
        return _duration(rule, facts, today)
    if isinstance(rule, MedicationWashoutRule):
        return _washout(rule, facts, today)
    if isinstance(rule, FlagRule):
        return _flag(rule, facts)
    if isinstance(rule, CssrsRiskRule):
        return _cssrs(rule, facts)
    if isinstance(rule, NotRule):
        inner = evaluate_rule(rule.rule, facts, today)
        value = None if inner.value is None else not inner.value
        return Truth(value, inner.message, inner.observed, f"not ({inner.threshold})", inner.flips_on)
    parts = [evaluate_rule(r, facts, today) for r in rule.rules]
    # In "any" one true part decides; in "all" one false part does.
    decisive = isinstance(rule, AnyRule)
    hits = [p for p in parts if p.value is decisive]
    if hits:
        return Truth(
            decisive, " ".join(p.message for p in hits), hits[0].observed, hits[0].threshold, hits[0].flips_on
        )
    missing = [p for p in parts if p.value is None]
    if missing:
        return Truth(None, " ".join(p.message for p in missing), threshold=missing[0].threshold)
    flips = [p.flips_on for p in parts if p.flips_on is not None]
    return Truth(
        not decisive,
        " ".join(p.message for p in parts),
        parts[0].observed,
        parts[0].threshold,
        min(flips) if flips else None,
    )


class CriterionStatus(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    MISSING = "missing"
    PENDING = "pending"  # will be met on ``pending_until`` without anything else changing


class Overall(StrEnum):
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    INCOMPLETE = "incomplete"
    ELIGIBLE_FROM = "eligible_from"


@dataclass(frozen=True)
class CriterionResult:
    code: str
    kind: CriterionKind
    text: str
    status: CriterionStatus
    value: str
    threshold: str
    message: str
    pending_until: date | None = None
    overridden: bool = False


@dataclass(frozen=True)
class Evaluation:
    overall: Overall
    eligible_from: date | None
    criteria: tuple[CriterionResult, ...]


def evaluate_criterion(criterion: Criterion, facts: ScreeningFacts, today: date) -> CriterionResult:
    if criterion.rule is None:
        return CriterionResult(
            criterion.code,
            criterion.kind,
            criterion.text,
            CriterionStatus.MISSING,
            "",
            "",
            "This criterion has no rule: a physician confirms it (override with a reason).",
        )
    truth = evaluate_rule(criterion.rule, facts, today)
    wants = criterion.kind == CriterionKind.INCLUSION
    if truth.value is None:
        status, until = CriterionStatus.MISSING, None
    elif truth.value == wants:
        status, until = CriterionStatus.MET, None
    elif truth.flips_on is not None:
        status, until = CriterionStatus.PENDING, truth.flips_on
    else:
        status, until = CriterionStatus.NOT_MET, None
    message = truth.message
    if status == CriterionStatus.PENDING and until is not None:
        message = f"{message} Met from {until:%Y-%m-%d}."
    return CriterionResult(
        criterion.code,
        criterion.kind,
        criterion.text,
        status,
        truth.observed,
        truth.threshold,
        message,
        until,
    )


def evaluate(
    criteria: Sequence[Criterion],
    facts: ScreeningFacts,
    today: date,
    *,
    overrides: Mapping[str, str] | None = None,
) -> Evaluation:
    """Evaluate every criterion. ``overrides`` maps a criterion code to the physician's reason; an
    overridden criterion counts as met and says so."""
    overrides = overrides or {}
    results = []
    for criterion in criteria:
        result = evaluate_criterion(criterion, facts, today)
        if criterion.code in overrides and result.status != CriterionStatus.MET:
            # A criterion without a rule is confirmed by the physician; one with a rule is overridden.
            said = (
                "Confirmed by a physician"
                if criterion.rule is None
                else f"{result.message} Overridden by a physician"
            )
            result = CriterionResult(
                result.code,
                result.kind,
                result.text,
                CriterionStatus.MET,
                result.value,
                result.threshold,
                f"{said}: {overrides[criterion.code]}",
                overridden=True,
            )
        results.append(result)
    statuses = {r.status for r in results}
    if CriterionStatus.NOT_MET in statuses:
        return Evaluation(Overall.INELIGIBLE, None, tuple(results))
    if CriterionStatus.MISSING in statuses:
        return Evaluation(Overall.INCOMPLETE, None, tuple(results))
    pending = [r.pending_until for r in results if r.pending_until is not None]
    if pending:
        return Evaluation(Overall.ELIGIBLE_FROM, max(pending), tuple(results))
    return Evaluation(Overall.ELIGIBLE, None, tuple(results))
