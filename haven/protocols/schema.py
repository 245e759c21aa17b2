"""The protocol file format: a typed schema, pure (no Django).

A protocol is a YAML file describing one treatment course: its phases, the visits and where they
fall, the dosing and monitoring rules of the session room, eligibility criteria, the instrument
schedule and the outcome definitions. ``load_protocol`` turns a file into a ``Protocol`` or raises
``ProtocolInvalid`` listing *every* problem as ``file: path: message``.

Values a site must check against its own protocol (marked [U] in the clinical reference) stay
configurable here and carry a comment in the shipped files saying so.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from haven.protocols.rules import Rule

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$", description="lower-case identifier")]
PositiveMinutes = Annotated[int, Field(ge=1, le=24 * 60)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VisitKind(StrEnum):
    SCREENING = "screening"
    PREPARATION = "preparation"
    DOSING = "dosing"
    INTEGRATION = "integration"
    FOLLOW_UP = "follow-up"
    ASSESSMENT = "assessment"
    PHONE_CHECK_IN = "phone-check-in"


class Role(StrEnum):
    """Staff roles a visit can require (the clinical subset of the account roles)."""

    THERAPIST = "therapist"
    PHYSICIAN = "physician"
    COORDINATOR = "coordinator"
    PHARMACIST = "pharmacist"
    BLINDED_RATER = "blinded_rater"


class Phase(_Strict):
    code: Code
    name: str = Field(min_length=1, max_length=100)


class Target(_Strict):
    """When a visit falls: ``days`` after its anchor, which is enrollment or another visit's code."""

    anchor: Code = Field(description="'enrollment' or the code of an earlier visit")
    days: int = Field(ge=0, le=3650)


class Window(_Strict):
    before: int = Field(ge=0, le=365, description="days the visit may come before its target")
    after: int = Field(ge=0, le=365, description="days the visit may come after its target")


class Repeat(_Strict):
    """One definition standing for several visits: instance *n* falls ``(n-1) * every_days`` later."""

    count: int = Field(ge=2, le=100)
    every_days: int = Field(ge=1, le=365)


class StaffNeed(_Strict):
    role: Role
    count: int = Field(ge=1, le=10)
    lead: int = Field(0, ge=0, le=10, description="how many of them must be the designated lead")

    @model_validator(mode="after")
    def _lead_within_count(self) -> StaffNeed:
        if self.lead > self.count:
            raise ValueError("lead must be ≤ count")
        return self


class Visit(_Strict):
    code: Code
    name: str = Field(min_length=1, max_length=120)
    kind: VisitKind
    phase: Code
    target: Target
    window: Window
    duration_minutes: PositiveMinutes
    staff: tuple[StaffNeed, ...] = ()
    repeat: Repeat | None = None
    overnight: bool = False
    note_template: tuple[str, ...] = Field((), description="headings of the structured visit note")


class SupplementalDose(_Strict):
    fraction: Decimal = Field(gt=0, le=1, description="of the initial dose, e.g. 0.5")
    after_minutes_from: int = Field(ge=0, le=24 * 60)
    after_minutes_to: int = Field(ge=0, le=24 * 60)
    requires_vitals_within_limits: bool = True
    requires_physician_approval: bool = False

    @model_validator(mode="after")
    def _window_ordered(self) -> SupplementalDose:
        if self.after_minutes_to < self.after_minutes_from:
            raise ValueError("after_minutes_to must be ≥ after_minutes_from")
        return self


class Dosing(_Strict):
    substance: str = Field(min_length=1, max_length=100)
    form: str = Field(min_length=1, max_length=100, description="e.g. 'oral capsule', 'nasal spray device'")
    unit: Literal["mg", "ug", "mg/kg"]
    initial_doses: tuple[Decimal, ...] = Field(min_length=1)
    supplemental: SupplementalDose | None = None
    max_per_session: Decimal = Field(gt=0)
    min_days_between_sessions: int = Field(ge=0, le=365)

    @model_validator(mode="after")
    def _doses_within_maximum(self) -> Dosing:
        if any(dose <= 0 for dose in self.initial_doses):
            raise ValueError("initial_doses must all be > 0")
        if max(self.initial_doses) > self.max_per_session:
            raise ValueError("max_per_session must be ≥ every initial dose")
        return self


class VitalSign(StrEnum):
    SYSTOLIC_BP = "systolic_bp"
    DIASTOLIC_BP = "diastolic_bp"
    HEART_RATE = "heart_rate"
    TEMPERATURE = "temperature"
    SPO2 = "spo2"
    RESPIRATORY_RATE = "respiratory_rate"
    SUDS = "suds"


# UCUM unit of each parameter; the monitoring limits are written in these units.
VITAL_UNITS: dict[VitalSign, str] = {
    VitalSign.SYSTOLIC_BP: "mm[Hg]",
    VitalSign.DIASTOLIC_BP: "mm[Hg]",
    VitalSign.HEART_RATE: "/min",
    VitalSign.TEMPERATURE: "Cel",
    VitalSign.SPO2: "%",
    VitalSign.RESPIRATORY_RATE: "/min",
    VitalSign.SUDS: "{score}",
}


class Limit(_Strict):
    low: Decimal | None = None
    high: Decimal | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Limit:
        if self.low is None and self.high is None:
            raise ValueError("give low, high or both")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError("low must be < high")
        return self


class RelativeLimit(_Strict):
    """A limit relative to the pre-dose baseline, e.g. a systolic rise of 40 mmHg or more."""

    rise: Decimal | None = Field(None, gt=0)
    fall: Decimal | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _something(self) -> RelativeLimit:
        if self.rise is None and self.fall is None:
            raise ValueError("give rise, fall or both")
        return self


class Discharge(_Strict):
    vitals_within_limits: bool = True
    suds_at_or_below_baseline: bool = True
    therapist_attestations: int = Field(2, ge=0, le=4)
    escort_required: bool = True
    # [U] How far from the pre-dose baseline the latest value may be at discharge, in the
    # parameter's unit. No published figure was found; these defaults apply unless a protocol says.
    near_baseline: dict[VitalSign, Decimal] = Field(
        default_factory=lambda: {
            VitalSign.SYSTOLIC_BP: Decimal(20),
            VitalSign.DIASTOLIC_BP: Decimal(15),
            VitalSign.HEART_RATE: Decimal(20),
        },
        description="parameter → largest difference from the pre-dose baseline allowed at discharge",
    )

    @model_validator(mode="after")
    def _positive(self) -> Discharge:
        if any(v <= 0 for v in self.near_baseline.values()):
            raise ValueError("near_baseline differences must be > 0")
        return self


class ChecklistItem(_Strict):
    """A pre-session check that must be confirmed before the first dose."""

    code: Code
    text: str = Field(min_length=1, max_length=300)


class Monitoring(_Strict):
    parameters: tuple[VitalSign, ...] = Field(min_length=1)
    pre_session_checklist: tuple[ChecklistItem, ...] = ()
    minimum_therapists: int = Field(2, ge=0, le=6, description="present for the whole session")
    schedule_minutes: tuple[int, ...] = Field(
        min_length=1, description="after the initial dose; 0 = pre-dose"
    )
    limits: dict[VitalSign, Limit] = {}
    relative_limits: dict[VitalSign, RelativeLimit] = {}
    recheck_minutes: PositiveMinutes
    minimum_minutes: PositiveMinutes
    escalate_after_minutes: PositiveMinutes = Field(
        5, description="an alert unacknowledged this long escalates to the site's physicians"
    )
    discharge: Discharge

    @model_validator(mode="after")
    def _consistent(self) -> Monitoring:
        if list(self.schedule_minutes) != sorted(set(self.schedule_minutes)):
            raise ValueError("schedule_minutes must be increasing, without repeats")
        if any(m < 0 for m in self.schedule_minutes):
            raise ValueError("schedule_minutes must be ≥ 0")
        unmeasured = sorted((set(self.limits) | set(self.relative_limits)) - set(self.parameters))
        if unmeasured:
            raise ValueError(f"limits name parameters that are not measured: {', '.join(unmeasured)}")
        return self


class CriterionKind(StrEnum):
    INCLUSION = "inclusion"
    EXCLUSION = "exclusion"


class Criterion(_Strict):
    """An eligibility criterion: its text as the protocol states it, and the rule the engine checks.

    An inclusion criterion is met when its rule holds; an exclusion criterion when it does not. A
    criterion without a rule is confirmed by a physician (an override with a reason).
    """

    code: Code
    kind: CriterionKind
    text: str = Field(min_length=1, max_length=500)
    rule: Rule | None = None
    overridable: bool = Field(
        True, description="whether a physician may override it, with a reason and signature"
    )


class InstrumentSchedule(_Strict):
    """Where an instrument is due: at the named visits, and/or at every visit of the named kinds
    (e.g. ``visit_kinds: [phone-check-in]`` for the daily check-ins after each dosing session)."""

    instrument: Code
    visits: tuple[Code, ...] = ()
    visit_kinds: tuple[VisitKind, ...] = ()

    @model_validator(mode="after")
    def _somewhere(self) -> InstrumentSchedule:
        if not self.visits and not self.visit_kinds:
            raise ValueError("give visits, visit_kinds or both")
        return self


class Responder(_Strict):
    decrease_at_least: Decimal | None = Field(None, gt=0)
    decrease_percent_at_least: Decimal | None = Field(None, gt=0, le=100)

    @model_validator(mode="after")
    def _one(self) -> Responder:
        if (self.decrease_at_least is None) == (self.decrease_percent_at_least is None):
            raise ValueError("give exactly one of decrease_at_least, decrease_percent_at_least")
        return self


class Remission(_Strict):
    total_at_most: Decimal = Field(ge=0)
    requires_loss_of_diagnosis: bool = False


class Outcomes(_Strict):
    primary_instrument: Code
    baseline_visit: Code
    endpoint_visit: Code
    responder: Responder
    loss_of_diagnosis: bool = Field(False, description="whether the instrument's diagnosis rule is reported")
    remission: Remission | None = None


class SeverityScale(StrEnum):
    MILD_MODERATE_SEVERE = "mild_moderate_severe"
    CTCAE = "ctcae"


class Safety(_Strict):
    """How adverse events are graded and serious ones reported; every value has a default [U]."""

    severity_scale: SeverityScale = SeverityScale.MILD_MODERATE_SEVERE
    initial_report_hours: int = Field(
        default=24, ge=1, le=24 * 7, description="sponsor report after awareness"
    )
    expedited_days_fatal_or_life_threatening: int = Field(
        default=7,
        ge=1,
        le=90,
        description="regulatory report of a fatal or life-threatening, unexpected, related event",
    )
    expedited_days_other: int = Field(
        default=15, ge=1, le=90, description="regulatory report of any other serious event"
    )
    solicited_time_points: tuple[Code, ...] = Field(
        default=(), description="when the solicited-effects checklist is asked; empty: Haven's defaults"
    )


class Protocol(_Strict):
    code: Code
    version: str = Field(pattern=r"^\d+(\.\d+){0,2}$", description="e.g. 1, 1.1 or 2.0.1")
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field("", max_length=2000)
    sources: tuple[str, ...] = ()
    phases: tuple[Phase, ...] = Field(min_length=1)
    visits: tuple[Visit, ...] = Field(min_length=1)
    dosing: Dosing | None = None
    monitoring: Monitoring | None = None
    eligibility: tuple[Criterion, ...] = ()
    instruments: tuple[InstrumentSchedule, ...] = ()
    outcomes: Outcomes | None = None
    safety: Safety | None = None

    def visit(self, code: str) -> Visit:
        for visit in self.visits:
            if visit.code == code:
                return visit
        raise KeyError(code)
