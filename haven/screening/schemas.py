"""Input and output schemas of the screening API: one per operation. The services validate the
clinical rules (plausible ranges, units, drug classes, dates); these only shape the payloads.

Measured values travel as decimal strings so no precision is lost to binary floats; a value may be
sent as a JSON number or a string.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Schema
from pydantic import AwareDatetime, Field

from haven.accounts.schemas import SignatureOut
from haven.screening.models import Overall


# Entry ------------------------------------------------------------------------------------------
class HistoryAddIn(Schema):
    condition: str = Field(max_length=200)
    category: str = Field(
        max_length=20, description="cardiovascular, hepatic, renal, neurological, psychiatric or other"
    )
    code: str = Field("", max_length=40, description="for psychiatric conditions: a code of the list")
    onset: date | None = None
    current: bool


class PsychedelicUseAddIn(Schema):
    substance: str = Field(max_length=100)
    lifetime_count: int
    last_use: date | None = None
    clinical: bool = Field(description="within supervised clinical care (a trial or licensed treatment)")


class MedicationAddIn(Schema):
    name: str = Field(max_length=200)
    drug_class: str | None = Field(None, max_length=40, description="a code of the drug-class table")
    dose: str = Field("", max_length=100)
    start: date | None = None
    stop: date | None = Field(None, description="blank while the medication is still taken")


class MeasurementAddIn(Schema):
    field: str = Field(max_length=40, description="a field of `field_specs`")
    # The database keeps 10 digits, 3 after the point: more is refused rather than silently rounded.
    value: Decimal = Field(max_digits=10, decimal_places=3, description="a number or a decimal string")
    unit: str = Field(max_length=20, description="UCUM, one of the field's `units`")
    measured_at: AwareDatetime
    reference_low: Decimal | None = Field(None, max_digits=10, decimal_places=3)
    reference_high: Decimal | None = Field(None, max_digits=10, decimal_places=3)


class FlagSetIn(Schema):
    value: bool


class CssrsSetIn(Schema):
    risk: str = Field(max_length=10, description="none, low, moderate or high")


class SectionMarkIn(Schema):
    complete: bool


class EntryMarkErrorIn(Schema):
    reason: str = Field(description="Why the entry is wrong (required, kept in the audit trail)")


class _EntryOut(Schema):
    id: uuid.UUID
    entered_by: str
    entered_at: datetime
    entered_in_error: bool
    error_reason: str


class HistoryItemOut(_EntryOut):
    condition: str
    category: str
    code: str
    onset: date | None
    current: bool


class PsychedelicUseOut(_EntryOut):
    substance: str
    lifetime_count: int
    last_use: date | None
    clinical: bool


class MedicationOut(_EntryOut):
    name: str
    drug_class: str
    dose: str
    start: date | None
    stop: date | None


class MeasurementOut(_EntryOut):
    field: str
    value: str = Field(description="a decimal string")
    unit: str
    measured_at: datetime
    reference_low: str | None
    reference_high: str | None


class FlagOut(_EntryOut):
    name: str
    value: bool


# The record -------------------------------------------------------------------------------------
class DrugClassOut(Schema):
    code: str
    name: str
    examples: list[str]
    washout_days: int


class FieldSpecOut(Schema):
    field: str
    section: str
    label: str
    units: list[str] = Field(description="accepted UCUM units; the plausible range is in the first")
    low: str
    high: str
    whole: bool = Field(description="only whole numbers are accepted")


class FlagSpecOut(Schema):
    name: str
    section: str


class ScreeningOut(Schema):
    course_id: uuid.UUID
    sections: list[str] = Field(description="every section of the record, in order")
    sections_complete: list[str]
    cssrs_risk: str | None
    history: list[HistoryItemOut]
    psychedelic_use: list[PsychedelicUseOut]
    medications: list[MedicationOut]
    measurements: list[MeasurementOut]
    flags: list[FlagOut] = Field(description="every flag entry, oldest first, errors included")
    flag_values: dict[str, bool | None] = Field(
        description="each flag's value as it counts: its newest entry not in error, or null"
    )
    drug_classes: list[DrugClassOut]
    field_specs: list[FieldSpecOut]
    flag_specs: list[FlagSpecOut]
    condition_categories: list[str]
    psychiatric_codes: list[str]
    cssrs_levels: list[str]


# Eligibility ------------------------------------------------------------------------------------
class CriterionOut(Schema):
    code: str
    kind: Literal["inclusion", "exclusion"]
    text: str
    status: Literal["met", "not_met", "missing", "pending"]
    value: str
    threshold: str
    message: str
    pending_until: date | None
    overridden: bool


class OverrideOut(Schema):
    id: uuid.UUID
    criterion_code: str
    reason: str
    physician: str
    overridden_at: datetime
    signatures: list[SignatureOut]


class EvaluationOut(Schema):
    id: uuid.UUID
    evaluated_on: date
    evaluated_at: datetime
    overall: Overall
    eligible_from: date | None
    protocol_version: str
    trigger: str
    criteria: list[CriterionOut]
    overrides: list[OverrideOut]


class EvaluationSummaryOut(Schema):
    id: uuid.UUID
    evaluated_on: date
    evaluated_at: datetime
    overall: Overall
    eligible_from: date | None
    trigger: str


class OverrideCreateIn(Schema):
    criterion_code: str = Field(max_length=40)
    reason: str = Field(description="Why the criterion counts as met (required, signed)")
    password: str = Field(description="The physician's password, re-entered to sign")
    otp_code: str = ""
