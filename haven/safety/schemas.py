"""API schemas for safety: one input and one output schema per operation."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from ninja import Schema


class AeFieldsIn(Schema):
    verbatim_term: str
    onset_at: datetime
    description: str = ""
    resolved_at: datetime | None = None
    severity: str = ""
    ctcae_grade: int | None = None
    death: bool = False
    life_threatening: bool = False
    hospitalisation: bool = False
    disability: bool = False
    congenital_anomaly: bool = False
    other_important: bool = False
    awareness_at: datetime | None = None
    death_date: date | None = None
    relatedness: str = ""
    expected: bool | None = None
    action_taken: str = ""
    outcome: str = ""
    aesi_manual: list[str] = []


class AeRecordIn(AeFieldsIn):
    session_id: uuid.UUID | None = None
    dose_id: uuid.UUID | None = None
    visit_id: uuid.UUID | None = None
    alert_id: uuid.UUID | None = None


class AeUpdateIn(AeFieldsIn):
    reason: str
    confirm: bool = False


class AeErrorIn(Schema):
    reason: str


class AeCodeIn(Schema):
    llt_code: str = ""
    llt_name: str = ""
    pt_code: str
    pt_name: str
    soc_code: str
    soc_name: str
    reason: str = "MedDRA coding"


class ClockOut(Schema):
    kind: str
    due_at: datetime
    stopped_at: datetime | None
    cancelled_at: datetime | None
    escalated_at: datetime | None
    overdue: bool


class ReportOut(Schema):
    id: uuid.UUID
    kind: str
    number: int
    narrative: str
    submitted_at: datetime
    submitted_by: str
    event_version: int


class AssessmentOut(Schema):
    id: uuid.UUID
    capacity: str
    assessor: str
    relatedness: str
    expected: bool | None
    comment: str
    assessed_at: datetime
    signed: bool


class AeOut(Schema):
    id: uuid.UUID
    course_id: uuid.UUID
    site_id: uuid.UUID
    status: str
    version: int
    verbatim_term: str
    description: str
    meddra_llt_code: str
    meddra_llt_name: str
    meddra_pt_code: str
    meddra_pt_name: str
    meddra_soc_code: str
    meddra_soc_name: str
    coded_by: str | None
    coded_at: datetime | None
    onset_at: datetime
    resolved_at: datetime | None
    minutes_since_dose: int | None
    severity: str
    ctcae_grade: int | None
    serious: bool
    criteria: list[str]
    awareness_at: datetime | None
    death_date: date | None
    relatedness: str
    expected: bool | None
    action_taken: str
    outcome: str
    reporter: str
    reporter_role: str
    aesi_categories: list[str]
    aesi_manual: list[str]
    session_id: uuid.UUID | None
    dose_id: uuid.UUID | None
    visit_id: uuid.UUID | None
    source_alert_id: uuid.UUID | None
    source_emergency_id: uuid.UUID | None
    source_safety_alert_id: uuid.UUID | None
    emergency_timeline: list[dict[str, str]]
    error_reason: str
    clocks: list[ClockOut]
    reports: list[ReportOut]
    assessments: list[AssessmentOut]


class AeVersionOut(Schema):
    number: int
    at: datetime
    by: str | None
    reason: str
    data: dict[str, object]


class ReportIn(Schema):
    kind: str
    narrative: str
    submitted_at: datetime | None = None


class AssessIn(Schema):
    capacity: str
    relatedness: str
    expected: bool | None = None
    comment: str = ""
    password: str
    otp_code: str = ""


class QueueItemOut(Schema):
    event_id: uuid.UUID
    verbatim_term: str
    kind: str
    due_at: datetime
    overdue: bool
    escalated_at: datetime | None


class SolicitedIn(Schema):
    time_point: str
    none_reported: bool
    answers: dict[str, bool] = {}
    session_id: uuid.UUID | None = None


class SolicitedOut(Schema):
    id: uuid.UUID
    time_point: str
    none_reported: bool
    answers: dict[str, bool]
    session_id: uuid.UUID | None
    by: str
    recorded_at: datetime


def minutes(delta: timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds() // 60)


class IncidenceRowOut(Schema):
    label: str
    events: int
    patients: int


class IncidenceOut(Schema):
    by_category: list[IncidenceRowOut]
    by_soc: list[IncidenceRowOut]
    by_pt: list[IncidenceRowOut]
