from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from ninja import Schema

from haven.accounts.models import Role


class IngestErrorOut(Schema):
    index: int
    id: str | None
    reason: str


class IngestOut(Schema):
    stored: int
    already_stored: int
    refused: int
    errors: list[IngestErrorOut]


class SessionOpenIn(Schema):
    visit_id: uuid.UUID


class ChecklistIn(Schema):
    done: bool
    note: str = ""


class PresenceIn(Schema):
    user_id: uuid.UUID
    role: Role
    is_lead: bool = False


class DoseIn(Schema):
    kind: Literal["initial", "supplemental"]
    amount: Decimal
    lot: str
    administered_at: datetime
    witness_id: uuid.UUID
    witness_password: str
    witness_otp_code: str = ""
    physician_id: uuid.UUID | None = None
    physician_password: str = ""
    physician_otp_code: str = ""


class VitalValueIn(Schema):
    value: Decimal
    unit: str


class VitalsIn(Schema):
    observed_at: datetime
    values: dict[str, VitalValueIn]
    note: str = ""


class AlertAckIn(Schema):
    action: str
    note: str = ""


class AlertResolveIn(Schema):
    note: str


class ChecklistItemOut(Schema):
    code: str
    text: str
    done: bool


class PresenceOut(Schema):
    id: uuid.UUID
    user_id: uuid.UUID
    printed_name: str
    role: str
    is_lead: bool
    checked_in_at: datetime
    checked_out_at: datetime | None


class DoseOut(Schema):
    id: uuid.UUID
    kind: str
    substance: str
    amount: Decimal
    unit: str
    lot: str
    administered_at: datetime
    administered_by: str
    witnessed_by: str
    approved_by: str | None


class ObservationOut(Schema):
    id: uuid.UUID
    parameter: str
    value: Decimal
    unit: str
    loinc: str
    observed_at: datetime
    device_observation_id: str


class AlertOut(Schema):
    id: uuid.UUID
    kind: str
    parameter: str
    message: str
    status: str
    action: str
    created_at: datetime


class DueOut(Schema):
    minute: int
    due_at: datetime
    status: str


class SessionOut(Schema):
    id: uuid.UUID
    visit_code: str
    patient: str
    status: str
    first_dose_at: datetime | None
    checklist: list[ChecklistItemOut]
    present: list[PresenceOut]
    doses: list[DoseOut]
    observations: list[ObservationOut]
    alerts: list[AlertOut]
    schedule: list[DueOut]
