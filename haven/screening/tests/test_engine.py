"""The eligibility engine: each rule kind, boundaries, units, missing data, washouts, overrides,
and the shipped MDMA-AT criteria on realistic synthetic candidates."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter

from haven.protocols.loader import SHIPPED_DIR, load_protocol
from haven.protocols.rules import Rule
from haven.protocols.schema import Criterion
from haven.screening.drug_classes import drug_classes, washout_days
from haven.screening.engine import (
    CriterionStatus,
    Overall,
    convert,
    evaluate,
    evaluate_criterion,
    evaluate_rule,
)
from haven.screening.facts import Condition, Measurement, Medication, ScreeningFacts

TODAY = date(2026, 11, 25)
ALL_SECTIONS = frozenset({"medical_history", "psychiatric_history", "medications"})
RULE = TypeAdapter(Rule)
MDMA = load_protocol(SHIPPED_DIR / "mdma-ptsd.yaml")


def rule(data: dict[str, Any]) -> Rule:
    return RULE.validate_python(data)


def m(value: str | int, unit: str = "") -> Measurement:
    return Measurement(Decimal(value), unit)


def criterion(kind: str, data: dict[str, Any], code: str = "c") -> Criterion:
    return Criterion.model_validate({"code": code, "kind": kind, "text": "t", "rule": data})


# Measurements ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("caps5", "met"), [(27, False), (28, True), (29, True)])
def test_thresholds_are_exact_at_the_boundary(caps5: int, met: bool) -> None:
    facts = ScreeningFacts(measurements={"caps5_total": [m(caps5)]})
    truth = evaluate_rule(
        rule({"kind": "measure", "field": "caps5_total", "op": "ge", "value": 28}), facts, TODAY
    )
    assert truth.value is met
    assert truth.message == f"CAPS-5 total {caps5} {'is at least' if met else 'is below'} 28."


def test_a_missing_measurement_is_missing_never_a_pass() -> None:
    result = evaluate_criterion(
        criterion("exclusion", {"kind": "measure", "field": "alt", "op": "gt", "value": 120, "unit": "U/L"}),
        ScreeningFacts(),
        TODAY,
    )
    assert result.status == CriterionStatus.MISSING
    assert result.message == "Missing: ALT: a value needed, 0 recorded."


def test_averages_of_repeated_readings_need_enough_readings() -> None:
    data = {
        "kind": "measure",
        "field": "systolic_bp",
        "aggregate": "mean",
        "min_readings": 2,
        "op": "ge",
        "value": 140,
        "unit": "mm[Hg]",
    }
    one = ScreeningFacts(measurements={"systolic_bp": [m(150, "mm[Hg]")]})
    assert evaluate_rule(rule(data), one, TODAY).value is None
    two = ScreeningFacts(measurements={"systolic_bp": [m(150, "mm[Hg]"), m(128, "mm[Hg]")]})
    truth = evaluate_rule(rule(data), two, TODAY)
    assert (truth.value, truth.message) == (False, "Systolic BP mean 139 mmHg is below 140 mmHg.")
    three = ScreeningFacts(
        measurements={"systolic_bp": [m(150, "mm[Hg]"), m(128, "mm[Hg]"), m(130, "mm[Hg]")]}
    )
    assert evaluate_rule(rule(data), three, TODAY).message == "Systolic BP mean 136 mmHg is below 140 mmHg."
    high = ScreeningFacts(measurements={"systolic_bp": [m(152, "mm[Hg]"), m(128, "mm[Hg]")]})
    assert evaluate_rule(rule(data), high, TODAY).message == "Systolic BP mean 140 mmHg is at least 140 mmHg."


def test_units_are_converted_where_offered() -> None:
    data = {"kind": "measure", "field": "bilirubin", "op": "gt", "value": 34, "unit": "umol/L"}
    facts = ScreeningFacts(measurements={"bilirubin": [m("2.1", "mg/dL")]})  # 2.1 mg/dL ≈ 35.9 µmol/L
    truth = evaluate_rule(rule(data), facts, TODAY)
    assert truth.value is True
    assert truth.message == "Bilirubin 35.9 µmol/L exceeds 34 µmol/L."
    assert convert("temperature", Decimal(212), "[degF]", "Cel") == Decimal(100)


def test_a_unit_that_cannot_be_converted_is_missing() -> None:
    data = {"kind": "measure", "field": "alt", "op": "gt", "value": 120, "unit": "U/L"}
    facts = ScreeningFacts(measurements={"alt": [m(2, "ukat/L")]})
    truth = evaluate_rule(rule(data), facts, TODAY)
    assert truth.value is None
    assert "recorded in ukat/L, which Haven cannot convert to U/L" in truth.message


@pytest.mark.parametrize(
    ("sex", "qtc", "excluded", "message"),
    [
        ("female", 478, True, "QTc 478 ms exceeds 470 ms (female limit)."),
        ("female", 470, False, "QTc 470 ms does not exceed 470 ms (female limit)."),
        ("male", 460, True, "QTc 460 ms exceeds 450 ms (male limit)."),
        ("male", 450, False, "QTc 450 ms does not exceed 450 ms (male limit)."),
        ("unknown", 460, True, "QTc 460 ms exceeds 450 ms (limit when sex is not female or male)."),
    ],
)
def test_sex_specific_limits(sex: str, qtc: int, excluded: bool, message: str) -> None:
    data = {"kind": "measure_by_sex", "field": "qtc", "op": "gt", "unit": "ms", "female": 470, "male": 450}
    truth = evaluate_rule(rule(data), ScreeningFacts(sex=sex, measurements={"qtc": [m(qtc, "ms")]}), TODAY)
    assert (truth.value, truth.message) == (excluded, message)


# Age, history, durations ------------------------------------------------------------------------
@pytest.mark.parametrize(("born", "met"), [(date(2008, 11, 25), True), (date(2008, 11, 26), False)])
def test_age_from_date_of_birth_on_the_birthday(born: date, met: bool) -> None:
    result = evaluate_criterion(
        criterion("inclusion", {"kind": "age", "op": "ge", "years": 18}),
        ScreeningFacts(date_of_birth=born),
        TODAY,
    )
    if met:
        assert result.status == CriterionStatus.MET
    else:
        assert (result.status, result.pending_until) == (CriterionStatus.PENDING, date(2026, 11, 26))


def test_history_of_a_category_and_by_name() -> None:
    facts = ScreeningFacts(
        conditions=[Condition("Paroxysmal atrial fibrillation", "cardiovascular", current=False)],
        sections_complete=ALL_SECTIONS,
    )
    data = {"kind": "condition", "category": "cardiovascular", "name_contains": ["atrial fibrillation"]}
    truth = evaluate_rule(rule(data), facts, TODAY)
    assert (truth.value, truth.message) == (
        True,
        "History of Paroxysmal atrial fibrillation (cardiovascular, past).",
    )
    assert evaluate_rule(rule({**data, "current_only": True}), facts, TODAY).value is False


def test_history_is_missing_until_its_section_is_complete() -> None:
    truth = evaluate_rule(rule({"kind": "condition", "category": "hepatic"}), ScreeningFacts(), TODAY)
    assert truth.value is None
    assert truth.message == "Missing: the medical history section is not complete."


def test_condition_duration_becomes_met_on_a_known_day() -> None:
    facts = ScreeningFacts(
        conditions=[Condition("PTSD", "psychiatric", "ptsd", onset=date(2026, 7, 1))],
        sections_complete=ALL_SECTIONS,
    )
    result = evaluate_criterion(
        criterion("inclusion", {"kind": "condition_duration", "code": "ptsd", "at_least_months": 6}),
        facts,
        TODAY,
    )
    assert (result.status, result.pending_until) == (CriterionStatus.PENDING, date(2027, 1, 1))


# Medications and washouts -----------------------------------------------------------------------
WASHOUT = {"kind": "medication_in_washout", "classes": ["ssri", "maoi"]}


def _meds(*medications: Medication) -> ScreeningFacts:
    return ScreeningFacts(
        medications=medications, washout_days=washout_days(), sections_complete=ALL_SECTIONS
    )


def test_a_medication_still_taken_excludes() -> None:
    result = evaluate_criterion(
        criterion("exclusion", WASHOUT), _meds(Medication("sertraline", "ssri", date(2025, 1, 1))), TODAY
    )
    assert result.status == CriterionStatus.NOT_MET
    assert result.message == "sertraline (ssri) is still being taken."


def test_a_washout_under_way_is_pending_until_it_ends() -> None:
    facts = _meds(Medication("sertraline", "ssri", date(2025, 1, 1), stop=date(2026, 11, 20)))
    result = evaluate_criterion(criterion("exclusion", WASHOUT), facts, TODAY)
    assert (result.status, result.pending_until) == (CriterionStatus.PENDING, date(2026, 12, 4))
    assert "washout ends 2026-12-04" in result.message


def test_a_completed_washout_is_met_on_the_day_it_ends() -> None:
    facts = _meds(Medication("sertraline", "ssri", date(2025, 1, 1), stop=date(2026, 11, 11)))  # ends 11-25
    assert evaluate_criterion(criterion("exclusion", WASHOUT), facts, TODAY).status == CriterionStatus.MET


def test_classes_outside_the_rule_do_not_count() -> None:
    facts = _meds(Medication("methylphenidate", "stimulant"))
    assert evaluate_criterion(criterion("exclusion", WASHOUT), facts, TODAY).status == CriterionStatus.MET


def test_the_drug_class_table_lists_the_classes_that_matter() -> None:
    table = drug_classes()
    assert {
        "ssri",
        "snri",
        "maoi",
        "tricyclic",
        "lithium",
        "antipsychotic",
        "stimulant",
        "cyp2d6_inhibitor",
        "qt_prolonging",
        "serotonergic_other",
    } <= set(table)
    assert table["ssri_long_half_life"].examples == ("fluoxetine",)


# Combinators, flags, C-SSRS ---------------------------------------------------------------------
def test_any_all_and_not() -> None:
    pregnant_or_lactating = rule(
        {
            "kind": "any",
            "rules": [
                {"kind": "flag", "name": "pregnancy_test_positive"},
                {"kind": "flag", "name": "lactating"},
            ],
        }
    )
    assert (
        evaluate_rule(
            pregnant_or_lactating,
            ScreeningFacts(flags={"pregnancy_test_positive": False, "lactating": True}),
            TODAY,
        ).value
        is True
    )
    assert (
        evaluate_rule(
            pregnant_or_lactating,
            ScreeningFacts(flags={"pregnancy_test_positive": False, "lactating": False}),
            TODAY,
        ).value
        is False
    )
    assert (
        evaluate_rule(
            pregnant_or_lactating, ScreeningFacts(flags={"pregnancy_test_positive": False}), TODAY
        ).value
        is None
    )
    both = rule(
        {
            "kind": "all",
            "rules": [{"kind": "flag", "name": "a"}, {"kind": "not", "rule": {"kind": "flag", "name": "b"}}],
        }
    )
    assert evaluate_rule(both, ScreeningFacts(flags={"a": True, "b": False}), TODAY).value is True
    assert evaluate_rule(both, ScreeningFacts(flags={"a": True, "b": True}), TODAY).value is False


@pytest.mark.parametrize(("level", "excluded"), [("none", False), ("moderate", False), ("high", True)])
def test_cssrs_risk(level: str, excluded: bool) -> None:
    truth = evaluate_rule(
        rule({"kind": "cssrs_risk", "at_least": "high"}), ScreeningFacts(cssrs_risk=level), TODAY
    )
    assert truth.value is excluded


# Overall results and overrides ------------------------------------------------------------------
def test_a_criterion_without_a_rule_awaits_a_physician() -> None:
    plain = Criterion.model_validate({"code": "judgement", "kind": "inclusion", "text": "Clinically stable."})
    evaluation = evaluate([plain], ScreeningFacts(), TODAY)
    assert evaluation.overall == Overall.INCOMPLETE
    assert (
        evaluate([plain], ScreeningFacts(), TODAY, overrides={"judgement": "stable on review"}).overall
        == Overall.ELIGIBLE
    )


def test_an_override_counts_as_met_and_says_so() -> None:
    c = criterion(
        "inclusion", {"kind": "measure", "field": "caps5_total", "op": "ge", "value": 28}, code="caps5"
    )
    evaluation = evaluate(
        [c],
        ScreeningFacts(measurements={"caps5_total": [m(26)]}),
        TODAY,
        overrides={"caps5": "rater retrained; re-rated 29"},
    )
    [result] = evaluation.criteria
    assert (evaluation.overall, result.status, result.overridden) == (
        Overall.ELIGIBLE,
        CriterionStatus.MET,
        True,
    )
    assert result.message.endswith("Overridden by a physician: rater retrained; re-rated 29")


# The shipped MDMA-AT criteria on synthetic candidates --------------------------------------------
def _candidate(**changes: Any) -> ScreeningFacts:
    """A candidate who meets every MAPP criterion; tests change one thing at a time."""
    base = ScreeningFacts(
        date_of_birth=date(1984, 3, 9),
        sex="female",
        conditions=[
            Condition("PTSD", "psychiatric", "ptsd", onset=date(2019, 5, 1)),
            Condition("Asthma", "other", current=True),
        ],
        medications=[Medication("sertraline", "ssri", date(2020, 1, 1), stop=date(2026, 9, 1))],
        measurements={
            "caps5_total": [m(39)],
            "systolic_bp": [m(128, "mm[Hg]"), m(124, "mm[Hg]")],
            "diastolic_bp": [m(82, "mm[Hg]"), m(80, "mm[Hg]")],
            "qtc": [m(431, "ms")],
            "alt": [m(28, "U/L")],
            "ast": [m(24, "U/L")],
            "bilirubin": [m("0.6", "mg/dL")],
        },
        flags={"pregnancy_test_positive": False, "lactating": False},
        cssrs_risk="low",
        washout_days=washout_days(),
        sections_complete=ALL_SECTIONS,
    )
    return dataclasses.replace(base, **changes)


def _statuses(facts: ScreeningFacts) -> dict[str, CriterionStatus]:
    return {r.code: r.status for r in evaluate(MDMA.eligibility, facts, TODAY).criteria}


def test_a_typical_candidate_is_eligible() -> None:
    evaluation = evaluate(MDMA.eligibility, _candidate(), TODAY)
    assert evaluation.overall == Overall.ELIGIBLE
    assert set(_statuses(_candidate()).values()) == {CriterionStatus.MET}


def test_moderate_ptsd_below_mapp2_threshold_is_ineligible() -> None:
    facts = _candidate(measurements={**_candidate().measurements, "caps5_total": [m(27)]})
    evaluation = evaluate(MDMA.eligibility, facts, TODAY)
    assert evaluation.overall == Overall.INELIGIBLE
    assert _statuses(facts)["caps5-severity"] == CriterionStatus.NOT_MET


def test_a_man_with_a_long_qtc_is_ineligible() -> None:
    facts = _candidate(sex="male", measurements={**_candidate().measurements, "qtc": [m(462, "ms")]})
    assert _statuses(facts)["qtc"] == CriterionStatus.NOT_MET


def test_uncontrolled_hypertension_on_the_mean_of_two_readings() -> None:
    facts = _candidate(
        measurements={**_candidate().measurements, "systolic_bp": [m(146, "mm[Hg]"), m(138, "mm[Hg]")]}
    )
    assert _statuses(facts)["hypertension"] == CriterionStatus.NOT_MET


def test_a_recent_ssri_makes_the_candidate_eligible_from_the_washout_end() -> None:
    facts = _candidate(
        medications=[Medication("escitalopram", "ssri", date(2024, 1, 1), stop=date(2026, 11, 18))]
    )
    evaluation = evaluate(MDMA.eligibility, facts, TODAY)
    assert (evaluation.overall, evaluation.eligible_from) == (Overall.ELIGIBLE_FROM, date(2026, 12, 2))


def test_fluoxetine_needs_its_long_washout() -> None:
    facts = _candidate(
        medications=[
            Medication("fluoxetine", "ssri_long_half_life", date(2024, 1, 1), stop=date(2026, 11, 1))
        ]
    )
    evaluation = evaluate(MDMA.eligibility, facts, TODAY)
    assert evaluation.eligible_from == date(2026, 12, 6)


def test_bipolar_i_and_high_suicide_risk_exclude() -> None:
    facts = _candidate(
        conditions=[*_candidate().conditions, Condition("Bipolar I disorder", "psychiatric", "bipolar_i")],
        cssrs_risk="high",
    )
    statuses = _statuses(facts)
    assert statuses["psychosis"] == CriterionStatus.NOT_MET
    assert statuses["suicide-risk"] == CriterionStatus.NOT_MET


def test_a_half_done_screening_is_incomplete_never_eligible() -> None:
    facts = _candidate(
        sections_complete=frozenset({"psychiatric_history"}), flags={}, measurements={"caps5_total": [m(39)]}
    )
    evaluation = evaluate(MDMA.eligibility, facts, TODAY)
    assert evaluation.overall == Overall.INCOMPLETE
    missing = {r.code for r in evaluation.criteria if r.status == CriterionStatus.MISSING}
    assert {"hypertension", "qtc", "hepatic", "pregnancy", "medications", "arrhythmia"} <= missing


def test_pregnancy_excludes() -> None:
    assert (
        _statuses(_candidate(flags={"pregnancy_test_positive": True, "lactating": False}))["pregnancy"]
        == CriterionStatus.NOT_MET
    )


def test_the_other_shipped_protocols_state_rules_for_what_screening_records() -> None:
    psilocybin = load_protocol(SHIPPED_DIR / "psilocybin-trd.yaml")
    rule_less = {c.code for c in psilocybin.eligibility if c.rule is None}
    assert rule_less == {"trd"}  # the count of failed treatments is a physician's judgement
    facts = _candidate(
        conditions=[Condition("Major depressive disorder", "psychiatric", "major_depressive_disorder")],
        measurements={"madrs_total": [m(31)]},
        medications=[],
    )
    evaluation = evaluate(
        psilocybin.eligibility, facts, TODAY, overrides={"trd": "three adequate trials failed"}
    )
    assert evaluation.overall == Overall.ELIGIBLE
