"""The eligibility rule language of protocol files. Pure: no Django, no ``eval``.

A criterion's ``rule`` is a small tree of these nodes. Each states a fact about the candidate
("QTc above the sex-specific limit", "a medication of class SSRI within its washout"); an inclusion
criterion is met when its rule holds, an exclusion criterion when it does not.

    rule: {kind: measure, field: caps5_total, op: ge, value: 28}
    rule: {kind: measure_by_sex, field: qtc, op: gt, unit: ms, female: 470, male: 450}
    rule: {kind: measure, field: systolic_bp, aggregate: mean, min_readings: 2, op: ge, value: 140, unit: mm[Hg]}
    rule: {kind: age, op: ge, years: 18}
    rule: {kind: condition, category: cardiovascular, name_contains: [arrhythmia, atrial fibrillation]}
    rule: {kind: condition, codes: [bipolar_i, primary_psychotic_disorder]}
    rule: {kind: condition_duration, code: ptsd, at_least_months: 6}
    rule: {kind: medication_in_washout, classes: [ssri, snri, maoi]}
    rule: {kind: flag, name: pregnancy_test_positive}
    rule: {kind: cssrs_risk, at_least: high}
    rule: {kind: any, rules: [...]}   # also all, not
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Op = Literal["lt", "le", "gt", "ge", "eq"]
OP_WORDS = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥", "eq": "="}


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MeasureRule(_Rule):
    kind: Literal["measure"]
    field: str = Field(min_length=1, max_length=40)
    op: Op
    value: Decimal
    unit: str = Field("", max_length=20, description="UCUM unit of value; the reading is converted to it")
    aggregate: Literal["latest", "mean", "max", "min"] = "latest"
    min_readings: int = Field(1, ge=1, le=10)


class MeasureBySexRule(_Rule):
    kind: Literal["measure_by_sex"]
    field: str = Field(min_length=1, max_length=40)
    op: Op
    unit: str = Field("", max_length=20)
    female: Decimal
    male: Decimal
    other: Decimal | None = Field(None, description="for intersex or unknown sex; defaults to the stricter")
    aggregate: Literal["latest", "mean", "max", "min"] = "latest"


class AgeRule(_Rule):
    kind: Literal["age"]
    op: Literal["ge", "gt", "le", "lt"]
    years: int = Field(ge=0, le=130)


class ConditionRule(_Rule):
    kind: Literal["condition"]
    category: Literal["cardiovascular", "hepatic", "renal", "neurological", "psychiatric", "other"] | None = (
        None
    )
    codes: tuple[str, ...] = ()
    name_contains: tuple[str, ...] = ()
    current_only: bool = False

    @model_validator(mode="after")
    def _narrowed(self) -> ConditionRule:
        if self.category is None and not self.codes and not self.name_contains:
            raise ValueError("give a category, codes or name_contains")
        return self


class ConditionDurationRule(_Rule):
    kind: Literal["condition_duration"]
    code: str = Field(min_length=1)
    at_least_months: int = Field(ge=1, le=600)


class MedicationWashoutRule(_Rule):
    kind: Literal["medication_in_washout"]
    classes: tuple[str, ...] = Field(min_length=1)


class FlagRule(_Rule):
    kind: Literal["flag"]
    name: str = Field(min_length=1, max_length=40)


class CssrsRiskRule(_Rule):
    kind: Literal["cssrs_risk"]
    at_least: Literal["low", "moderate", "high"]


class AllRule(_Rule):
    kind: Literal["all"]
    rules: tuple[Rule, ...] = Field(min_length=1)


class AnyRule(_Rule):
    kind: Literal["any"]
    rules: tuple[Rule, ...] = Field(min_length=1)


class NotRule(_Rule):
    kind: Literal["not"]
    rule: Rule


Rule = Annotated[
    MeasureRule
    | MeasureBySexRule
    | AgeRule
    | ConditionRule
    | ConditionDurationRule
    | MedicationWashoutRule
    | FlagRule
    | CssrsRiskRule
    | AllRule
    | AnyRule
    | NotRule,
    Field(discriminator="kind"),
]

AllRule.model_rebuild()
AnyRule.model_rebuild()
NotRule.model_rebuild()
