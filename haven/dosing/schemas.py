from __future__ import annotations

import uuid
from datetime import date, datetime
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


class SettingIn(Schema):
    room_id: uuid.UUID | None = None
    playlist: str = ""
    eyeshades_offered: bool | None = None
    video_recorded: bool | None = None
    recording_reference: str = ""
    recording_retain_until: date | None = None
    reason: str = ""


class SettingOut(Schema):
    room_id: uuid.UUID | None
    room: str | None
    playlist: str
    eyeshades_offered: bool | None
    video_recorded: bool | None
    recording_reference: str
    recording_retain_until: date | None


class EmergencyIn(Schema):
    description: str = ""


class EmergencyEventIn(Schema):
    kind: str
    at: datetime | None = None
    detail: str
    place: str = ""


class EmergencyEventOut(Schema):
    kind: str
    at: datetime
    detail: str
    place: str
    by: str


class EmergencyCloseIn(Schema):
    summary: str
    password: str
    otp_code: str = ""


class EmergencyOut(Schema):
    id: uuid.UUID
    session_id: uuid.UUID
    status: str
    declared_at: datetime
    declared_by: str
    description: str
    sae_review: bool
    summary: str
    closed_by: str | None
    closed_at: datetime | None
    events: list[EmergencyEventOut]
    notified: list[str]


class CriterionOut(Schema):
    code: str
    text: str
    met: bool
    detail: str


class AttestationOut(Schema):
    therapist: str
    alert_and_oriented: bool
    escort_present: bool
    escort_name: str
    at: datetime


class DischargeOut(Schema):
    status: str
    criteria: list[CriterionOut]
    attestations: list[AttestationOut]
    attestations_required: int
    overnight_required: bool
    ready: bool
    discharged_at: datetime | None
    overnight_stay: bool | None
    check_ins: list[dict[str, str]]


class AttestIn(Schema):
    alert_and_oriented: bool
    escort_present: bool
    escort_name: str = ""
    note: str = ""
    password: str
    otp_code: str = ""


class DischargeIn(Schema):
    overnight_stay: bool | None = None


class TimelineItemOut(Schema):
    at: datetime
    kind: str
    text: str
    by: str


class OnCallIn(Schema):
    physician_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime


class OnCallOut(Schema):
    id: uuid.UUID
    physician_id: uuid.UUID
    physician: str
    starts_at: datetime
    ends_at: datetime
    cancelled_at: datetime | None


class OnCallCancelIn(Schema):
    reason: str


class EquipmentCheckIn(Schema):
    item: str
    ok: bool
    note: str = ""


class EquipmentItemOut(Schema):
    item: str
    checked: bool
    ok: bool | None
    note: str
    by: str | None
    at: datetime | None


class EmergencyPlanIn(Schema):
    procedure: str
    equipment: list[str]


class EmergencyPlanOut(Schema):
    procedure: str
    equipment: list[str]
    site_default: bool
