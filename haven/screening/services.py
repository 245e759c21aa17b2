"""Writes for screening: entry by section, each value checked with its unit, and re-evaluation of
eligibility after every change (each evaluation kept). Physicians may override a criterion with a
reason and an e-signature, unless the protocol forbids it for that criterion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from haven.accounts.models import Role, User
from haven.accounts.selectors import roles_for
from haven.accounts.signing import reauthenticate
from haven.audit.context import Actor
from haven.audit.models import SignatureMeaning
from haven.audit.services import audit_create, audit_update, require_reason
from haven.audit.signatures import signature_record
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from haven.core.time import now, today_at
from haven.patients.models import CourseStatus, EnrollmentCourse
from haven.protocols.selectors import protocol_of
from haven.screening.drug_classes import drug_classes, washout_days
from haven.screening.engine import UNIT_WORDS, convert, evaluate
from haven.screening.facts import (
    CONDITION_CATEGORIES,
    CSSRS_LEVELS,
    PSYCHIATRIC_CODES,
    Condition,
    Measurement,
    Medication,
    ScreeningFacts,
)
from haven.screening.models import (
    SECTIONS,
    EligibilityEvaluation,
    EligibilityOverride,
    HistoryItem,
    MedicationEntry,
    PsychedelicUse,
    ScreeningFlag,
    ScreeningMeasurement,
    ScreeningRecord,
)

ENTRY_ROLES = frozenset({Role.PHYSICIAN, Role.COORDINATOR})
# Raters enter the interview totals they administered, nothing else.
RATER_FIELDS = frozenset({"caps5_total", "madrs_total"})
OPEN_STATUSES = (
    CourseStatus.SCREENING,
    CourseStatus.ELIGIBLE,
    CourseStatus.INELIGIBLE,
    CourseStatus.CONSENTED,
)


@dataclass(frozen=True)
class FieldSpec:
    section: str
    label: str
    units: tuple[str, ...]  # accepted UCUM units; the first is the one the plausible range is in
    low: Decimal
    high: Decimal
    whole: bool = False


def _spec(
    section: str, label: str, units: tuple[str, ...], low: str, high: str, whole: bool = False
) -> FieldSpec:
    return FieldSpec(section, label, units, Decimal(low), Decimal(high), whole)


# Plausible ranges: a value outside is physiologically impossible or a typing error, and refused.
FIELDS: dict[str, FieldSpec] = {
    "systolic_bp": _spec("vitals", "Systolic BP", ("mm[Hg]",), "50", "300", True),
    "diastolic_bp": _spec("vitals", "Diastolic BP", ("mm[Hg]",), "20", "200", True),
    "heart_rate": _spec("vitals", "Heart rate", ("/min",), "20", "250", True),
    "temperature": _spec("vitals", "Temperature", ("Cel", "[degF]"), "30", "45"),
    "qtc": _spec("ecg", "QTc", ("ms",), "250", "750", True),
    "ecg_heart_rate": _spec("ecg", "ECG heart rate", ("/min",), "20", "250", True),
    "alt": _spec("labs", "ALT", ("U/L", "[IU]/L"), "0", "10000"),
    "ast": _spec("labs", "AST", ("U/L", "[IU]/L"), "0", "10000"),
    "bilirubin": _spec("labs", "Bilirubin", ("umol/L", "mg/dL"), "0", "1000"),
    "sodium": _spec("labs", "Sodium", ("mmol/L", "meq/L"), "90", "200"),
    "creatinine": _spec("labs", "Creatinine", ("umol/L", "mg/dL"), "5", "3000"),
    "weight": _spec("body", "Weight", ("kg", "[lb_av]"), "20", "400"),
    "height": _spec("body", "Height", ("cm", "[in_i]"), "100", "250"),
    "caps5_total": _spec("instruments", "CAPS-5 total", ("{score}",), "0", "80", True),
    "pcl5_total": _spec("instruments", "PCL-5 total", ("{score}",), "0", "80", True),
    "madrs_total": _spec("instruments", "MADRS total", ("{score}",), "0", "60", True),
}
FLAGS: dict[str, str] = {
    "pregnancy_test_positive": "pregnancy",
    "lactating": "pregnancy",
    "ecg_rhythm_abnormal": "ecg",
}


def _user(actor: Actor, course: EnrollmentCourse, *, field: str | None = None) -> User:
    user = actor.user
    roles = roles_for(user, course.site) if user is not None else frozenset()
    if user is None or not (roles & ENTRY_ROLES or (field in RATER_FIELDS and Role.BLINDED_RATER in roles)):
        raise PermissionDenied(
            "Screening entry needs the physician or coordinator role (raters: interview totals)."
        )
    # The status as stored now, whatever the caller's copy says.
    status = EnrollmentCourse.objects.filter(pk=course.pk).values_list("status", flat=True).get()
    if status not in OPEN_STATUSES:
        raise ValidationFailed(
            f"status: screening data are entered before enrollment; the course is {CourseStatus(status).label}",
            fields={"status": ["screening is closed"]},
            code="screening_closed",
        )
    return user


def _record_for(actor: Actor, course: EnrollmentCourse) -> ScreeningRecord:
    """The course's screening record, opened on first use (callers have checked the actor)."""
    record = ScreeningRecord.objects.filter(course=course).first()
    if record is not None:
        return record
    with transaction.atomic():
        record, created = ScreeningRecord.objects.get_or_create(course=course)
        if created:
            audit_create(actor=actor, instance=record, fields=("course",), site_id=course.site.public_id)
    return record


def _after_change(
    actor: Actor, record: ScreeningRecord, entry: Any, fields: tuple[str, ...], trigger: str
) -> None:
    audit_create(actor=actor, instance=entry, fields=fields, site_id=record.course.site.public_id)
    eligibility_evaluate(actor=actor, course=record.course, trigger=trigger)


def history_add(
    *,
    actor: Actor,
    course: EnrollmentCourse,
    condition: str,
    category: str,
    code: str = "",
    onset: date | None = None,
    current: bool = True,
) -> HistoryItem:
    user = _user(actor, course)
    condition = (condition or "").strip()
    if not condition:
        raise field_error("condition", "is required")
    if category not in CONDITION_CATEGORIES:
        raise field_error("category", f"must be one of {', '.join(CONDITION_CATEGORIES)}")
    if code and code not in PSYCHIATRIC_CODES:
        raise field_error("code", f"must be one of {', '.join(PSYCHIATRIC_CODES)}")
    if code and category != "psychiatric":
        raise field_error("code", "is for psychiatric conditions only")
    if onset is not None and onset > today_at(course.site.time_zone):
        raise field_error("onset", "cannot be in the future")
    record = _record_for(actor, course)
    with transaction.atomic():
        item = HistoryItem.objects.create(
            record=record,
            entered_by=user,
            condition=condition,
            category=category,
            code=code,
            onset=onset,
            current=current,
        )
        _after_change(
            actor,
            record,
            item,
            ("condition", "category", "code", "onset", "current"),
            f"history: {condition}",
        )
    return item


def psychedelic_use_add(
    *,
    actor: Actor,
    course: EnrollmentCourse,
    substance: str,
    lifetime_count: int,
    last_use: date | None,
    clinical: bool,
) -> PsychedelicUse:
    user = _user(actor, course)
    substance = (substance or "").strip()
    if not substance:
        raise field_error("substance", "is required")
    if not 0 <= lifetime_count <= 100000:
        raise field_error("lifetime_count", "must be between 0 and 100000")
    if last_use is not None and last_use > today_at(course.site.time_zone):
        raise field_error("last_use", "cannot be in the future")
    record = _record_for(actor, course)
    with transaction.atomic():
        use = PsychedelicUse.objects.create(
            record=record,
            entered_by=user,
            substance=substance,
            lifetime_count=lifetime_count,
            last_use=last_use,
            clinical=clinical,
        )
        _after_change(
            actor,
            record,
            use,
            ("substance", "lifetime_count", "last_use", "clinical"),
            f"psychedelic use: {substance}",
        )
    return use


def medication_add(
    *,
    actor: Actor,
    course: EnrollmentCourse,
    name: str,
    drug_class: str = "",
    dose: str = "",
    start: date | None = None,
    stop: date | None = None,
) -> MedicationEntry:
    user = _user(actor, course)
    name = (name or "").strip()
    if not name:
        raise field_error("name", "is required")
    if drug_class and drug_class not in drug_classes():
        raise field_error("drug_class", f"must be one of {', '.join(sorted(drug_classes()))} (or blank)")
    if start and stop and stop < start:
        raise field_error("stop", "must be on or after start")
    today = today_at(course.site.time_zone)
    if start and start > today:
        raise field_error("start", "cannot be in the future")
    record = _record_for(actor, course)
    with transaction.atomic():
        entry = MedicationEntry.objects.create(
            record=record,
            entered_by=user,
            name=name,
            drug_class=drug_class,
            dose=dose.strip(),
            start=start,
            stop=stop,
        )
        _after_change(
            actor, record, entry, ("name", "drug_class", "dose", "start", "stop"), f"medication: {name}"
        )
    return entry


def measurement_add(
    *,
    actor: Actor,
    course: EnrollmentCourse,
    field: str,
    value: Decimal | str | int,
    unit: str,
    measured_at: datetime,
    reference_low: Decimal | None = None,
    reference_high: Decimal | None = None,
) -> ScreeningMeasurement:
    user = _user(actor, course, field=field)
    spec = FIELDS.get(field)
    if spec is None:
        raise field_error("field", f"must be one of {', '.join(FIELDS)}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise field_error("value", "must be a number") from None
    if not number.is_finite():
        raise field_error("value", "must be a number")
    if unit not in spec.units:
        raise field_error("unit", f"{spec.label} is recorded in {' or '.join(spec.units)}")
    canonical = convert(field, number, unit, spec.units[0])
    assert canonical is not None  # every accepted unit converts to the first
    if not spec.low <= canonical <= spec.high:
        raise field_error(
            "value",
            f"{spec.label} {number} {unit} is outside the possible range {spec.low}–{spec.high} {spec.units[0]}",
        )
    if spec.whole and number != number.to_integral_value():
        raise field_error("value", f"{spec.label} is a whole number")
    if measured_at.tzinfo is None:
        raise field_error("measured_at", "needs a time zone (an ISO time with an offset)")
    if measured_at > now() + timedelta(minutes=5):
        raise field_error("measured_at", "cannot be in the future")
    if reference_low is not None and reference_high is not None and reference_low > reference_high:
        raise field_error("reference_high", "must be at least reference_low")
    record = _record_for(actor, course)
    with transaction.atomic():
        entry = ScreeningMeasurement.objects.create(
            record=record,
            entered_by=user,
            field=field,
            value=number,
            unit=unit,
            measured_at=measured_at,
            reference_low=reference_low,
            reference_high=reference_high,
        )
        # The trigger is read by people: units as they are written, scores without one.
        shown = f"{spec.label} {number} {UNIT_WORDS.get(unit, unit) if unit != '{score}' else ''}".strip()
        _after_change(actor, record, entry, ("field", "value", "unit", "measured_at"), shown)
    return entry


def flag_set(*, actor: Actor, course: EnrollmentCourse, name: str, value: bool) -> ScreeningFlag:
    """Record a yes/no finding; the newest entry of a flag is the one that counts."""
    user = _user(actor, course)
    if name not in FLAGS:
        raise field_error("name", f"must be one of {', '.join(FLAGS)}")
    record = _record_for(actor, course)
    with transaction.atomic():
        flag = ScreeningFlag.objects.create(record=record, entered_by=user, name=name, value=value)
        _after_change(
            actor, record, flag, ("name", "value"), f"{name.replace('_', ' ')}: {'yes' if value else 'no'}"
        )
    return flag


def cssrs_set(*, actor: Actor, course: EnrollmentCourse, risk: str) -> ScreeningRecord:
    _user(actor, course)
    if risk not in CSSRS_LEVELS:
        raise field_error("risk", f"must be one of {', '.join(CSSRS_LEVELS)}")
    record = _record_for(actor, course)
    with transaction.atomic():
        record = ScreeningRecord.objects.select_for_update().get(pk=record.pk)
        old = record.cssrs_risk
        if old == risk:
            return record
        record.cssrs_risk = risk
        record.save(update_fields=["cssrs_risk", "updated_at"])
        audit_update(
            actor=actor,
            instance=record,
            changes={"cssrs_risk": {"old": old or None, "new": risk}},
            site_id=course.site.public_id,
            reason="C-SSRS screener result recorded",
        )
        eligibility_evaluate(actor=actor, course=course, trigger=f"C-SSRS risk {risk}")
    return record


def section_mark(*, actor: Actor, course: EnrollmentCourse, section: str, complete: bool) -> ScreeningRecord:
    _user(actor, course)
    if section not in SECTIONS:
        raise field_error("section", f"must be one of {', '.join(SECTIONS)}")
    record = _record_for(actor, course)
    with transaction.atomic():
        record = ScreeningRecord.objects.select_for_update().get(pk=record.pk)
        before = sorted(record.sections_complete)
        after = sorted(set(before) | {section}) if complete else sorted(set(before) - {section})
        if after == before:
            return record
        record.sections_complete = after
        record.save(update_fields=["sections_complete", "updated_at"])
        audit_update(
            actor=actor,
            instance=record,
            changes={"sections_complete": {"old": before, "new": after}},
            site_id=course.site.public_id,
            reason=f"{section} marked {'complete' if complete else 'incomplete'}",
        )
        eligibility_evaluate(
            actor=actor, course=course, trigger=f"{section} {'complete' if complete else 'reopened'}"
        )
    return record


def entry_mark_error(
    *,
    actor: Actor,
    entry: HistoryItem | PsychedelicUse | MedicationEntry | ScreeningMeasurement | ScreeningFlag,
    reason: str,
) -> None:
    """A wrong entry is kept, marked entered-in-error with the reason, and no longer counts."""
    course = entry.record.course
    _user(actor, course, field=getattr(entry, "field", None))
    reason = require_reason(reason)
    if entry.entered_in_error:
        raise Conflict("This entry is already marked entered-in-error.")
    with transaction.atomic():
        type(entry).objects.filter(pk=entry.pk).update(entered_in_error=True, error_reason=reason)
        audit_update(
            actor=actor,
            instance=entry,
            changes={"entered_in_error": {"old": False, "new": True}},
            site_id=course.site.public_id,
            reason=reason,
        )
        eligibility_evaluate(actor=actor, course=course, trigger=f"entry marked in error: {reason}")


# Facts and evaluation ---------------------------------------------------------------------------
def facts_for(course: EnrollmentCourse) -> ScreeningFacts:
    """The engine's view of the record: current entries only, each measurement with its unit."""
    record = ScreeningRecord.objects.filter(course=course).first()
    identity = course.patient.identity
    if record is None:
        return ScreeningFacts(
            date_of_birth=identity.date_of_birth, sex=course.patient.sex_at_birth, washout_days=washout_days()
        )
    history = HistoryItem.objects.filter(record=record, entered_in_error=False)
    medications = MedicationEntry.objects.filter(record=record, entered_in_error=False)
    measurements: dict[str, list[Measurement]] = {}
    for row in ScreeningMeasurement.objects.filter(record=record, entered_in_error=False).order_by(
        "measured_at"
    ):
        measurements.setdefault(row.field, []).append(Measurement(row.value, row.unit, row.measured_at))
    flags: dict[str, bool | None] = {}
    for flag in ScreeningFlag.objects.filter(record=record, entered_in_error=False).order_by(
        "created_at", "pk"
    ):
        flags[flag.name] = flag.value
    return ScreeningFacts(
        date_of_birth=identity.date_of_birth,
        sex=course.patient.sex_at_birth,
        conditions=[Condition(h.condition, h.category, h.code, h.onset, h.current) for h in history],
        medications=[Medication(m.name, m.drug_class, m.start, m.stop) for m in medications],
        measurements=measurements,
        flags=flags,
        cssrs_risk=record.cssrs_risk or None,
        washout_days=washout_days(),
        sections_complete=frozenset(record.sections_complete),
    )


def _overrides(course: EnrollmentCourse) -> Mapping[str, str]:
    return dict(EligibilityOverride.objects.filter(course=course).values_list("criterion_code", "reason"))


def eligibility_request(*, actor: Actor, course: EnrollmentCourse) -> EligibilityEvaluation:
    """Someone asks for a fresh evaluation (the day has changed, a washout may have ended)."""
    user = actor.user
    if user is None or not roles_for(user, course.site) & ENTRY_ROLES:
        raise PermissionDenied("Evaluating eligibility needs the physician or coordinator role.")
    return eligibility_evaluate(actor=actor, course=course, trigger="requested")


def eligibility_evaluate(*, actor: Actor, course: EnrollmentCourse, trigger: str) -> EligibilityEvaluation:
    """Run the protocol's criteria over the record now, and keep the result.

    Called by the entry services after their own role checks; callers answering a person's request
    use ``eligibility_request``.
    """
    protocol = protocol_of(course.protocol_version)
    today = today_at(course.site.time_zone)
    result = evaluate(protocol.eligibility, facts_for(course), today, overrides=_overrides(course))
    with transaction.atomic():
        evaluation = EligibilityEvaluation.objects.create(
            course=course,
            protocol_version=str(course.protocol_version),
            evaluated_on=today,
            overall=result.overall.value,
            eligible_from=result.eligible_from,
            criteria=[
                {
                    "code": c.code,
                    "kind": c.kind.value,
                    "text": c.text,
                    "status": c.status.value,
                    "value": c.value,
                    "threshold": c.threshold,
                    "message": c.message,
                    "pending_until": c.pending_until.isoformat() if c.pending_until else None,
                    "overridden": c.overridden,
                }
                for c in result.criteria
            ],
            trigger=trigger[:200],
        )
        audit_create(
            actor=actor,
            instance=evaluation,
            fields=("overall", "eligible_from", "evaluated_on", "trigger"),
            site_id=course.site.public_id,
        )
    return evaluation


def eligibility_override(
    *,
    actor: Actor,
    course: EnrollmentCourse,
    criterion_code: str,
    reason: str,
    password: str,
    otp_code: str = "",
) -> EligibilityOverride:
    """A physician counts a criterion as met, with a reason and a signature (meaning "approved")."""
    user = actor.user
    if user is None or Role.PHYSICIAN not in roles_for(user, course.site):
        raise PermissionDenied("Only a physician overrides an eligibility criterion.")
    reason = require_reason(reason)
    criterion = next(
        (c for c in protocol_of(course.protocol_version).eligibility if c.code == criterion_code), None
    )
    if criterion is None:
        raise field_error("criterion_code", "is not a criterion of this protocol")
    if not criterion.overridable:
        raise field_error("criterion_code", f"the protocol does not allow overriding {criterion_code!r}")
    if EligibilityOverride.objects.filter(course=course, criterion_code=criterion_code).exists():
        raise Conflict(f"{criterion_code!r} is already overridden for this course.")
    status = EnrollmentCourse.objects.filter(pk=course.pk).values_list("status", flat=True).get()
    if status not in OPEN_STATUSES:
        raise ValidationFailed(
            "status: eligibility is decided before enrollment; overrides are closed",
            fields={"status": ["screening is closed"]},
            code="screening_closed",
        )
    latest = EligibilityEvaluation.objects.filter(course=course).order_by("-created_at", "-pk").first()
    current = next((c for c in (latest.criteria if latest else []) if c["code"] == criterion_code), None)
    if current is not None and current["status"] == "met":
        raise field_error(
            "criterion_code", f"{criterion_code!r} is already met; there is nothing to override"
        )
    reauthenticate(actor=actor, password=password, otp_code=otp_code)
    with transaction.atomic():
        override = EligibilityOverride.objects.create(
            course=course, criterion_code=criterion_code, reason=reason, physician=user
        )
        audit_create(
            actor=actor, instance=override, fields=("criterion_code", "reason"), site_id=course.site.public_id
        )
        signature_record(actor=actor, record=override, meaning=SignatureMeaning.APPROVED)
        eligibility_evaluate(actor=actor, course=course, trigger=f"override of {criterion_code}")
    return override
