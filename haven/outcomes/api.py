"""Outcomes API: instrument definitions, FHIR Questionnaires, stateless scoring, responses (with
FHIR QuestionnaireResponse), forms due, outcome status, and safety alerts; site-scoped."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema, Status

from haven.accounts.auth import principal_actor, principal_user, user_auth
from haven.core.errors import NotFound, ValidationFailed
from haven.core.schemas import ERRORS
from haven.core.time import today_at
from haven.outcomes import instruments, scoring, selectors, services
from haven.outcomes.models import Response, ResponseSource
from haven.outcomes.schedule import forms_for
from haven.patients.models import Visit
from haven.patients.selectors import access_course

router = Router(tags=["outcomes"])


def fhir_base() -> str:
    """Canonical URLs of Haven's Questionnaires are under this install's public address."""
    return f"{settings.HAVEN_PUBLIC_URL}/fhir"


class OptionOut(Schema):
    value: str
    label: str


class ItemOut(Schema):
    code: str
    label: str
    text: str | None
    kind: str
    options: list[OptionOut]
    minimum: int | None
    maximum: int | None
    required: bool


class InstrumentOut(Schema):
    code: str
    name: str
    version: str
    recall_period: str
    licence: str
    loinc_panel: str | None
    loinc_total: str | None
    missing_rule: str
    respondents: list[str]
    items: list[ItemOut]


class ScoreIn(Schema):
    answers: dict[str, Any]


class FlagOut(Schema):
    code: str
    message: str
    severity: str


class ScoreOut(Schema):
    instrument: str
    scorer_version: str
    total: Decimal | None
    complete: bool
    missing_rule: str
    subscores: dict[str, Any]
    band: str
    flags: list[FlagOut]
    detail: dict[str, Any]


class ResponseIn(Schema):
    instrument: str
    answers: dict[str, Any]
    visit_id: uuid.UUID | None = None
    respondent: str = "patient"
    completed_at: datetime | None = None


class ResponseOut(Schema):
    id: uuid.UUID
    instrument: str
    instrument_version: str
    visit_id: uuid.UUID | None
    source: str
    respondent: str
    entered_by: str | None
    completed_at: datetime
    entered_in_error: bool
    answers: dict[str, Any]
    scores: list[ScoreOut]
    safety_alerts: list[uuid.UUID]


class DueOut(Schema):
    instrument: str
    name: str
    form: str
    title: str
    visit_id: uuid.UUID | None
    request_id: uuid.UUID | None
    window_earliest: str
    window_latest: str
    status: str
    patient_completes: bool


class OutcomeOut(Schema):
    instrument: str | None
    baseline: Decimal | None
    current: Decimal | None
    at_endpoint: bool
    change: Decimal | None
    responder: bool | None
    lost_diagnosis: bool | None
    remission: bool | None
    worsening: bool
    label: str
    notes: list[str]


class SafetyAckIn(Schema):
    action: str
    note: str = ""


class SafetyResolveIn(Schema):
    note: str


class SafetyAlertOut(Schema):
    id: uuid.UUID
    course_id: uuid.UUID
    kind: str
    message: str
    status: str
    action: str
    created_at: datetime


def _instrument(code: str) -> Any:
    resolved = scoring.resolve(code)
    if resolved is None:
        raise NotFound(f"No instrument {code!r}.")
    return instruments.get(resolved)


def _instrument_out(definition: Any) -> InstrumentOut:
    return InstrumentOut(
        code=definition.code,
        name=definition.name,
        version=definition.version,
        recall_period=definition.recall_period or "",
        licence=definition.licence or "",
        loinc_panel=definition.loinc_panel,
        loinc_total=definition.loinc_total,
        missing_rule=definition.missing_rule,
        respondents=list(definition.respondents),
        items=[
            ItemOut(
                code=i.code,
                label=i.label,
                text=i.text,
                kind=i.kind,
                options=[OptionOut(value=str(o.value), label=o.label) for o in (i.options or ())],
                minimum=i.minimum,
                maximum=i.maximum,
                required=i.required,
            )
            for i in definition.items
        ],
    )


def _score_out(instrument: str, s: Any) -> ScoreOut:
    return ScoreOut(
        instrument=instrument,
        scorer_version=s.scorer_version,
        total=s.total,
        complete=s.complete,
        missing_rule=s.missing_rule,
        subscores=s.subscores,
        band=s.band,
        flags=[FlagOut(**f) for f in s.flags],
        detail=s.detail,
    )


@router.get(
    "/instruments",
    auth=user_auth,
    response={200: list[InstrumentOut], **ERRORS},
    summary="Instrument definitions",
)
def instrument_list(request: HttpRequest) -> list[InstrumentOut]:
    return [_instrument_out(d) for d in instruments.INSTRUMENTS.values()]


@router.get(
    "/instruments/{code}/questionnaire",
    auth=user_auth,
    response={200: dict[str, Any], **ERRORS},
    summary="The instrument as a FHIR R4 Questionnaire",
)
def instrument_questionnaire(request: HttpRequest, code: str) -> dict[str, Any]:
    return dict(instruments.questionnaire(_instrument(code).code, base=fhir_base()))


@router.post(
    "/instruments/{code}/score",
    auth=user_auth,
    response={200: ScoreOut, **ERRORS},
    summary="Score answers without storing them (bad answers: 422 naming the item)",
)
def instrument_score(request: HttpRequest, code: str, payload: ScoreIn) -> ScoreOut:
    definition = _instrument(code)
    return _score_out(definition.code, scoring.score_answers(definition.code, payload.answers))


def _response_out(response: Response) -> ResponseOut:
    return ResponseOut(
        id=response.public_id,
        instrument=response.instrument,
        instrument_version=response.instrument_version,
        visit_id=response.visit.public_id if response.visit else None,
        source=response.source,
        respondent=response.respondent,
        entered_by=response.entered_by.printed_name if response.entered_by else None,
        completed_at=response.completed_at,
        entered_in_error=response.entered_in_error,
        answers=response.answers,
        scores=[
            ScoreOut(
                instrument=response.instrument,
                scorer_version=s.scorer_version,
                total=s.total,
                complete=s.complete,
                missing_rule=s.missing_rule,
                subscores=s.subscores,
                band=s.band,
                flags=[FlagOut(**f) for f in s.flags],
                detail=s.detail,
            )
            for s in response.scores.order_by("created_at", "pk")
        ],
        safety_alerts=[a.public_id for a in response.safety_alerts.all()],
    )


@router.get(
    "/courses/{course_id}/responses",
    auth=user_auth,
    response={200: list[ResponseOut], **ERRORS},
    summary="A course's responses with every stored score",
)
def response_list(request: HttpRequest, course_id: uuid.UUID) -> list[ResponseOut]:
    course = access_course(user=principal_user(request), course_id=course_id)
    rows = (
        Response.objects.filter(course=course)
        .select_related("visit", "entered_by")
        .order_by("completed_at", "pk")
    )
    return [_response_out(r) for r in rows]


@router.post(
    "/courses/{course_id}/responses",
    auth=user_auth,
    response={201: ResponseOut, **ERRORS},
    summary="Record a completed form (staff entry); scored at once, safety routing included",
)
def response_create(request: HttpRequest, course_id: uuid.UUID, payload: ResponseIn) -> Status[ResponseOut]:
    course = access_course(user=principal_user(request), course_id=course_id)
    visit = None
    if payload.visit_id is not None:
        visit = Visit.objects.filter(course=course, public_id=payload.visit_id).first()
        if visit is None:
            raise ValidationFailed(
                "visit_id: not a visit of this course", fields={"visit_id": ["not a visit of this course"]}
            )
    response = services.response_record(
        actor=principal_actor(request),
        course=course,
        instrument=payload.instrument,
        answers=payload.answers,
        visit=visit,
        respondent=payload.respondent,
        source=ResponseSource.STAFF,
        completed_at=payload.completed_at,
    )
    return Status(201, _response_out(response))


@router.get(
    "/responses/{response_id}",
    auth=user_auth,
    response={200: ResponseOut, **ERRORS},
    summary="One response with its scores",
)
def response_get(request: HttpRequest, response_id: uuid.UUID) -> ResponseOut:
    return _response_out(selectors.access_response(user=principal_user(request), response_id=response_id))


@router.get(
    "/responses/{response_id}/fhir",
    auth=user_auth,
    response={200: dict[str, Any], **ERRORS},
    summary="One response as a FHIR R4 QuestionnaireResponse",
)
def response_fhir(request: HttpRequest, response_id: uuid.UUID) -> dict[str, Any]:
    response = selectors.access_response(user=principal_user(request), response_id=response_id)
    return dict(
        instruments.questionnaire_response(
            response.instrument,
            response.answers,
            subject_reference=f"ResearchSubject/{response.course.public_id}",
            authored=response.completed_at,
            author_reference=f"Practitioner/{response.entered_by.public_id}" if response.entered_by else None,
            base=fhir_base(),
        )
    )


@router.get(
    "/courses/{course_id}/forms",
    auth=user_auth,
    response={200: list[DueOut], **ERRORS},
    summary="The protocol's forms for each visit: completed, due, overdue, upcoming or missed",
)
def forms_due(request: HttpRequest, course_id: uuid.UUID) -> list[DueOut]:
    course = access_course(user=principal_user(request), course_id=course_id)
    return [
        DueOut(
            instrument=f.instrument,
            name=f.name,
            form=f.key,
            title=f.title,
            visit_id=f.visit.public_id if f.visit else None,
            request_id=f.request.public_id if f.request else None,
            window_earliest=f.earliest.isoformat(),
            window_latest=f.latest.isoformat(),
            status=f.status,
            patient_completes=f.patient_completes,
        )
        for f in forms_for(course, today_at(course.site.time_zone))
    ]


@router.get(
    "/courses/{course_id}/outcome",
    auth=user_auth,
    response={200: OutcomeOut, **ERRORS},
    summary="Outcome status by the protocol's definition (responder, loss of diagnosis, remission)",
)
def outcome(request: HttpRequest, course_id: uuid.UUID) -> OutcomeOut:
    course = access_course(user=principal_user(request), course_id=course_id)
    s = selectors.outcome_status(course)
    return OutcomeOut(**{k: getattr(s, k) for k in OutcomeOut.model_fields})


def _alert_out(a: Any) -> SafetyAlertOut:
    return SafetyAlertOut(
        id=a.public_id,
        course_id=a.course.public_id,
        kind=a.kind,
        message=a.message,
        status=a.status,
        action=a.action,
        created_at=a.created_at,
    )


@router.post(
    "/safety-alerts/{alert_id}/acknowledge",
    auth=user_auth,
    response={200: SafetyAlertOut, **ERRORS},
    summary="Acknowledge a questionnaire's safety alert with the action taken",
)
def safety_ack(request: HttpRequest, alert_id: uuid.UUID, payload: SafetyAckIn) -> SafetyAlertOut:
    alert = selectors.access_safety_alert(user=principal_user(request), alert_id=alert_id)
    return _alert_out(
        services.safety_alert_acknowledge(
            actor=principal_actor(request), alert=alert, action=payload.action, note=payload.note
        )
    )


@router.post(
    "/safety-alerts/{alert_id}/resolve",
    auth=user_auth,
    response={200: SafetyAlertOut, **ERRORS},
    summary="Resolve an acknowledged safety alert",
)
def safety_resolve(request: HttpRequest, alert_id: uuid.UUID, payload: SafetyResolveIn) -> SafetyAlertOut:
    alert = selectors.access_safety_alert(user=principal_user(request), alert_id=alert_id)
    return _alert_out(
        services.safety_alert_resolve(actor=principal_actor(request), alert=alert, note=payload.note)
    )
