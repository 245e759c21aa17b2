"""Screening API: the screening record of a course, entry by section, and eligibility.

Courses are loaded only through ``access_course``, so another site's course is "not found"; an
entry is then looked up within that course (``access_entry``). Every entry re-runs the eligibility
engine (the services do that); who may enter what, and when, is the services' decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import TypedDict, cast

from django.http import HttpRequest
from ninja import Router, Status

from haven.accounts.auth import principal_actor, principal_user, user_auth
from haven.accounts.schemas import SignatureOut
from haven.audit.signatures import SignatureView, signatures_for, signatures_for_many
from haven.core.errors import NotFound
from haven.core.schemas import ERRORS
from haven.patients.models import EnrollmentCourse
from haven.patients.selectors import access_course
from haven.screening import selectors, services
from haven.screening.drug_classes import drug_classes
from haven.screening.facts import CONDITION_CATEGORIES, CSSRS_LEVELS, PSYCHIATRIC_CODES
from haven.screening.models import (
    SECTIONS,
    EligibilityEvaluation,
    EligibilityOverride,
    HistoryItem,
    MedicationEntry,
    PsychedelicUse,
    ScreeningFlag,
    ScreeningMeasurement,
)
from haven.screening.schemas import (
    CriterionOut,
    CssrsSetIn,
    DrugClassOut,
    EntryMarkErrorIn,
    EvaluationOut,
    EvaluationSummaryOut,
    FieldSpecOut,
    FlagOut,
    FlagSetIn,
    FlagSpecOut,
    HistoryAddIn,
    HistoryItemOut,
    MeasurementAddIn,
    MeasurementOut,
    MedicationAddIn,
    MedicationOut,
    OverrideCreateIn,
    OverrideOut,
    PsychedelicUseAddIn,
    PsychedelicUseOut,
    ScreeningOut,
    SectionMarkIn,
)

router = Router(auth=user_auth, tags=["screening"])

Entry = HistoryItem | PsychedelicUse | MedicationEntry | ScreeningMeasurement | ScreeningFlag


# Shaping ----------------------------------------------------------------------------------------
def _decimal(value: Decimal) -> str:
    """A stored decimal as a plain string: ``128.000`` → ``128``, ``36.850`` → ``36.85``."""
    return format(value.normalize(), "f")


def _optional_decimal(value: Decimal | None) -> str | None:
    return None if value is None else _decimal(value)


class _EntryFields(TypedDict):
    id: uuid.UUID
    entered_by: str
    entered_at: datetime
    entered_in_error: bool
    error_reason: str


def _entry_fields(entry: Entry) -> _EntryFields:
    return {
        "id": entry.public_id,
        "entered_by": entry.entered_by.printed_name,
        "entered_at": entry.created_at,
        "entered_in_error": entry.entered_in_error,
        "error_reason": entry.error_reason,
    }


def _history_out(item: HistoryItem) -> HistoryItemOut:
    return HistoryItemOut(
        **_entry_fields(item),
        condition=item.condition,
        category=item.category,
        code=item.code,
        onset=item.onset,
        current=item.current,
    )


def _psychedelic_use_out(use: PsychedelicUse) -> PsychedelicUseOut:
    return PsychedelicUseOut(
        **_entry_fields(use),
        substance=use.substance,
        lifetime_count=use.lifetime_count,
        last_use=use.last_use,
        clinical=use.clinical,
    )


def _medication_out(entry: MedicationEntry) -> MedicationOut:
    return MedicationOut(
        **_entry_fields(entry),
        name=entry.name,
        drug_class=entry.drug_class,
        dose=entry.dose,
        start=entry.start,
        stop=entry.stop,
    )


def _measurement_out(entry: ScreeningMeasurement) -> MeasurementOut:
    return MeasurementOut(
        **_entry_fields(entry),
        field=entry.field,
        value=_decimal(entry.value),
        unit=entry.unit,
        measured_at=entry.measured_at,
        reference_low=_optional_decimal(entry.reference_low),
        reference_high=_optional_decimal(entry.reference_high),
    )


def _flag_out(flag: ScreeningFlag) -> FlagOut:
    return FlagOut(**_entry_fields(flag), name=flag.name, value=flag.value)


def _reloaded[E: Entry](entry: E) -> E:
    """The entry as stored (decimals at their stored precision), with who entered it."""
    return cast(E, type(entry).objects.select_related("entered_by").get(pk=entry.pk))


def _screening_out(course: EnrollmentCourse) -> ScreeningOut:
    record = selectors.record_of(course)
    history: list[HistoryItem] = []
    uses: list[PsychedelicUse] = []
    medications: list[MedicationEntry] = []
    measurements: list[ScreeningMeasurement] = []
    flags: list[ScreeningFlag] = []
    if record is not None:
        entries = selectors.entry_lists(record)
        history, uses, medications = entries.history, entries.psychedelic_use, entries.medications
        measurements, flags = entries.measurements, entries.flags
    # As the engine sees them: the newest entry of each flag that is not in error.
    flag_values: dict[str, bool | None] = dict.fromkeys(services.FLAGS)
    for flag in flags:
        if not flag.entered_in_error:
            flag_values[flag.name] = flag.value
    return ScreeningOut(
        course_id=course.public_id,
        sections=list(SECTIONS),
        sections_complete=list(record.sections_complete) if record else [],
        cssrs_risk=(record.cssrs_risk or None) if record else None,
        history=[_history_out(h) for h in history],
        psychedelic_use=[_psychedelic_use_out(u) for u in uses],
        medications=[_medication_out(m) for m in medications],
        measurements=[_measurement_out(m) for m in measurements],
        flags=[_flag_out(f) for f in flags],
        flag_values=flag_values,
        drug_classes=[
            DrugClassOut(code=c.code, name=c.name, examples=list(c.examples), washout_days=c.washout_days)
            for c in drug_classes().values()
        ],
        field_specs=[
            FieldSpecOut(
                field=field,
                section=spec.section,
                label=spec.label,
                units=list(spec.units),
                low=format(spec.low, "f"),
                high=format(spec.high, "f"),
                whole=spec.whole,
            )
            for field, spec in services.FIELDS.items()
        ],
        flag_specs=[FlagSpecOut(name=name, section=section) for name, section in services.FLAGS.items()],
        condition_categories=list(CONDITION_CATEGORIES),
        psychiatric_codes=list(PSYCHIATRIC_CODES),
        cssrs_levels=list(CSSRS_LEVELS),
    )


def _signatures(views: Iterable[SignatureView]) -> list[SignatureOut]:
    return [
        SignatureOut(
            id=view.signature.public_id,
            printed_name=view.signature.printed_name,
            meaning=view.signature.meaning,
            signed_at=view.signature.signed_at,
            status=view.status,
        )
        for view in views
    ]


def _override_out(override: EligibilityOverride, views: Iterable[SignatureView]) -> OverrideOut:
    return OverrideOut(
        id=override.public_id,
        criterion_code=override.criterion_code,
        reason=override.reason,
        physician=override.physician.printed_name,
        overridden_at=override.created_at,
        signatures=_signatures(views),
    )


def _evaluation_out(evaluation: EligibilityEvaluation) -> EvaluationOut:
    # The signed content names the course, so the course comes along in the same query.
    overrides = list(selectors.override_list(evaluation.course).select_related("course__site"))
    signatures = signatures_for_many(overrides)
    return EvaluationOut(
        id=evaluation.public_id,
        evaluated_on=evaluation.evaluated_on,
        evaluated_at=evaluation.created_at,
        overall=evaluation.overall,  # type: ignore[arg-type]
        eligible_from=evaluation.eligible_from,
        protocol_version=evaluation.protocol_version,
        trigger=evaluation.trigger,
        criteria=[CriterionOut(**c) for c in evaluation.criteria],
        overrides=[_override_out(o, signatures[o.public_id]) for o in overrides],
    )


def _summary_out(evaluation: EligibilityEvaluation) -> EvaluationSummaryOut:
    return EvaluationSummaryOut(
        id=evaluation.public_id,
        evaluated_on=evaluation.evaluated_on,
        evaluated_at=evaluation.created_at,
        overall=evaluation.overall,  # type: ignore[arg-type]
        eligible_from=evaluation.eligible_from,
        trigger=evaluation.trigger,
    )


# The record -------------------------------------------------------------------------------------
@router.get(
    "/courses/{course_id}/screening",
    response={200: ScreeningOut, **ERRORS},
    summary="The screening record, with the drug-class table and field specs to build its forms",
)
def screening_get(request: HttpRequest, course_id: uuid.UUID) -> ScreeningOut:
    return _screening_out(access_course(user=principal_user(request), course_id=course_id))


@router.post(
    "/courses/{course_id}/screening/history",
    response={201: HistoryItemOut, **ERRORS},
    summary="Add a medical or psychiatric history item (eligibility is re-evaluated)",
)
def history_add(request: HttpRequest, course_id: uuid.UUID, payload: HistoryAddIn) -> Status[HistoryItemOut]:
    course = access_course(user=principal_user(request), course_id=course_id)
    item = services.history_add(
        actor=principal_actor(request),
        course=course,
        condition=payload.condition,
        category=payload.category,
        code=payload.code,
        onset=payload.onset,
        current=payload.current,
    )
    return Status(201, _history_out(_reloaded(item)))


@router.post(
    "/courses/{course_id}/screening/psychedelic-use",
    response={201: PsychedelicUseOut, **ERRORS},
    summary="Add a line of prior psychedelic use (eligibility is re-evaluated)",
)
def psychedelic_use_add(
    request: HttpRequest, course_id: uuid.UUID, payload: PsychedelicUseAddIn
) -> Status[PsychedelicUseOut]:
    course = access_course(user=principal_user(request), course_id=course_id)
    use = services.psychedelic_use_add(
        actor=principal_actor(request),
        course=course,
        substance=payload.substance,
        lifetime_count=payload.lifetime_count,
        last_use=payload.last_use,
        clinical=payload.clinical,
    )
    return Status(201, _psychedelic_use_out(_reloaded(use)))


@router.post(
    "/courses/{course_id}/screening/medications",
    response={201: MedicationOut, **ERRORS},
    summary="Add a current or recent medication (eligibility and washouts are re-evaluated)",
)
def medication_add(
    request: HttpRequest, course_id: uuid.UUID, payload: MedicationAddIn
) -> Status[MedicationOut]:
    course = access_course(user=principal_user(request), course_id=course_id)
    entry = services.medication_add(
        actor=principal_actor(request),
        course=course,
        name=payload.name,
        drug_class=payload.drug_class or "",
        dose=payload.dose,
        start=payload.start,
        stop=payload.stop,
    )
    return Status(201, _medication_out(_reloaded(entry)))


@router.post(
    "/courses/{course_id}/screening/measurements",
    response={201: MeasurementOut, **ERRORS},
    summary="Add a measurement with its UCUM unit; impossible values are refused (re-evaluates)",
)
def measurement_add(
    request: HttpRequest, course_id: uuid.UUID, payload: MeasurementAddIn
) -> Status[MeasurementOut]:
    course = access_course(user=principal_user(request), course_id=course_id)
    entry = services.measurement_add(
        actor=principal_actor(request),
        course=course,
        field=payload.field,
        value=payload.value,
        unit=payload.unit,
        measured_at=payload.measured_at,
        reference_low=payload.reference_low,
        reference_high=payload.reference_high,
    )
    return Status(201, _measurement_out(_reloaded(entry)))


@router.put(
    "/courses/{course_id}/screening/flags/{name}",
    response={200: FlagOut, **ERRORS},
    summary="Record a yes/no finding (the newest entry counts; eligibility is re-evaluated)",
)
def flag_set(request: HttpRequest, course_id: uuid.UUID, name: str, payload: FlagSetIn) -> FlagOut:
    course = access_course(user=principal_user(request), course_id=course_id)
    flag = services.flag_set(actor=principal_actor(request), course=course, name=name, value=payload.value)
    return _flag_out(_reloaded(flag))


@router.put(
    "/courses/{course_id}/screening/cssrs",
    response={200: ScreeningOut, **ERRORS},
    summary="Record the C-SSRS screener's risk level (eligibility is re-evaluated)",
)
def cssrs_set(request: HttpRequest, course_id: uuid.UUID, payload: CssrsSetIn) -> ScreeningOut:
    course = access_course(user=principal_user(request), course_id=course_id)
    services.cssrs_set(actor=principal_actor(request), course=course, risk=payload.risk)
    return _screening_out(course)


@router.put(
    "/courses/{course_id}/screening/sections/{section}",
    response={200: ScreeningOut, **ERRORS},
    summary="Mark a section of the record complete or reopen it (eligibility is re-evaluated)",
)
def section_mark(
    request: HttpRequest, course_id: uuid.UUID, section: str, payload: SectionMarkIn
) -> ScreeningOut:
    course = access_course(user=principal_user(request), course_id=course_id)
    services.section_mark(
        actor=principal_actor(request), course=course, section=section, complete=payload.complete
    )
    return _screening_out(course)


@router.post(
    "/courses/{course_id}/screening/{kind}/{entry_id}/entered-in-error",
    response={200: ScreeningOut, **ERRORS},
    summary="Mark an entry entered-in-error with a reason: it is kept but no longer counts",
    description="`kind` is history, psychedelic-use, medications, measurements or flags.",
)
def entry_mark_error(
    request: HttpRequest, course_id: uuid.UUID, kind: str, entry_id: uuid.UUID, payload: EntryMarkErrorIn
) -> ScreeningOut:
    course = access_course(user=principal_user(request), course_id=course_id)
    entry = selectors.access_entry(course=course, kind=kind, entry_id=entry_id)
    services.entry_mark_error(actor=principal_actor(request), entry=entry, reason=payload.reason)
    return _screening_out(course)


# Eligibility ------------------------------------------------------------------------------------
@router.post(
    "/courses/{course_id}/eligibility",
    response={201: EvaluationOut, **ERRORS},
    summary="Evaluate eligibility now (physician or coordinator); the evaluation is kept",
)
def eligibility_evaluate(request: HttpRequest, course_id: uuid.UUID) -> Status[EvaluationOut]:
    user = principal_user(request)
    course = access_course(user=user, course_id=course_id)
    evaluation = services.eligibility_request(actor=principal_actor(request), course=course)
    return Status(201, _evaluation_out(evaluation))


@router.get(
    "/courses/{course_id}/eligibility",
    response={200: EvaluationOut, **ERRORS},
    summary="The latest eligibility evaluation, criterion by criterion, with the overrides",
)
def eligibility_latest(request: HttpRequest, course_id: uuid.UUID) -> EvaluationOut:
    course = access_course(user=principal_user(request), course_id=course_id)
    evaluation = selectors.eligibility_latest(course)
    if evaluation is None:
        raise NotFound("No eligibility evaluation yet: enter the screening data first.")
    return _evaluation_out(evaluation)


@router.get(
    "/courses/{course_id}/eligibility/history",
    response={200: list[EvaluationSummaryOut], **ERRORS},
    summary="Every eligibility evaluation of the course, newest first, with what triggered it",
)
def eligibility_history(request: HttpRequest, course_id: uuid.UUID) -> list[EvaluationSummaryOut]:
    course = access_course(user=principal_user(request), course_id=course_id)
    return [_summary_out(e) for e in selectors.eligibility_history(course)]


@router.post(
    "/courses/{course_id}/eligibility/overrides",
    response={201: OverrideOut, **ERRORS},
    summary="A physician counts a criterion as met, with a reason and a signature (password and code)",
)
def eligibility_override(
    request: HttpRequest, course_id: uuid.UUID, payload: OverrideCreateIn
) -> Status[OverrideOut]:
    course = access_course(user=principal_user(request), course_id=course_id)
    override = services.eligibility_override(
        actor=principal_actor(request),
        course=course,
        criterion_code=payload.criterion_code,
        reason=payload.reason,
        password=payload.password,
        otp_code=payload.otp_code,
    )
    override = EligibilityOverride.objects.select_related("course__site", "physician").get(pk=override.pk)
    return Status(201, _override_out(override, signatures_for(override)))
