"""Dosing API: the session room (checklist, presence, doses, vitals, alerts) and device ingest."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

from django.http import HttpRequest
from ninja import Query, Router, Status

from haven.accounts.auth import Principal, device_auth, principal_actor, principal_user, user_auth
from haven.accounts.models import User
from haven.accounts.selectors import site_member
from haven.audit.context import Actor
from haven.core.errors import NotFound, PermissionDenied, ValidationFailed
from haven.core.schemas import ERRORS
from haven.core.time import now
from haven.dosing import selectors, services
from haven.dosing.ingest import parse_observations
from haven.dosing.models import Alert, DosingSession, Observation
from haven.dosing.schemas import (
    AlertAckIn,
    AlertOut,
    AlertResolveIn,
    ChecklistIn,
    ChecklistItemOut,
    DoseIn,
    DoseOut,
    DueOut,
    IngestErrorOut,
    IngestOut,
    ObservationOut,
    PresenceIn,
    PresenceOut,
    SessionOpenIn,
    SessionOut,
    VitalsIn,
)
from haven.patients.selectors import access_visit

router = Router(tags=["dosing"])

OBSERVATIONS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "description": (
                        "One compact observation {id, at, parameter, value, unit}, a batch "
                        "{observations: [...]} (at most 1,000), a FHIR R4 Observation (vital-signs LOINC "
                        "codes 8480-6/8462-4 in an 85354-9 panel, 8867-4, 8310-5, 59408-5, 9279-1) or a "
                        "FHIR R4 Bundle of them. The device's id makes a retry idempotent."
                    ),
                    "type": "object",
                }
            },
            "application/fhir+json": {"schema": {"type": "object"}},
        },
    }
}


@router.post(
    "/sessions/{session_id}/observations",
    auth=[*device_auth, *user_auth],
    response={200: IngestOut, **ERRORS},
    summary="Post vital signs from a bedside device (or a person): one, a batch, or FHIR",
    openapi_extra=OBSERVATIONS_BODY,
)
def observations_post(request: HttpRequest, session_id: uuid.UUID) -> IngestOut:
    principal: Principal = request.auth  # type: ignore[attr-defined]
    if principal.device_site is not None:
        session = selectors.device_session(site=principal.device_site, session_id=session_id)
    elif principal.user is not None:
        session = selectors.access_session(user=principal.user, session_id=session_id)
        if not services.may_record(principal.user, session):
            raise PermissionDenied("Recording vital signs needs the therapist or physician role.")
    else:  # pragma: no cover - every principal is a device or a person
        raise PermissionDenied("Unknown caller.")
    try:
        payload = json.loads(request.body or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("body: not valid JSON", fields={"body": ["not valid JSON"]}) from None
    outcome = services.observations_ingest(
        actor=principal.actor, session=session, result=parse_observations(payload, now=now())
    )
    return IngestOut(
        stored=outcome.stored,
        already_stored=outcome.already_stored,
        refused=len(outcome.errors),
        errors=[IngestErrorOut(index=e.index, id=e.device_id, reason=e.reason) for e in outcome.errors],
    )


# The session room --------------------------------------------------------------------------------
def _user(request: HttpRequest) -> tuple[User, Actor]:
    return principal_user(request), principal_actor(request)


def _alert_out(a: Alert) -> AlertOut:
    return AlertOut(
        id=a.public_id,
        kind=a.kind,
        parameter=a.parameter,
        message=a.message,
        status=a.status,
        action=a.action,
        created_at=a.created_at,
    )


def _observation_out(o: Observation) -> ObservationOut:
    return ObservationOut(
        id=o.public_id,
        parameter=o.parameter,
        value=o.value,
        unit=o.unit,
        loinc=o.loinc,
        observed_at=o.observed_at,
        device_observation_id=o.device_observation_id,
    )


def _state_out(session: DosingSession) -> SessionOut:
    session.refresh_from_db()  # the service has just changed it
    state = selectors.session_state(session)
    return SessionOut(
        id=session.public_id,
        visit_code=session.visit.code,
        patient=session.course.patient.study_id,
        status=session.status,
        first_dose_at=session.first_dose_at,
        checklist=[ChecklistItemOut(code=c, text=t, done=d) for c, t, d in state.checklist],
        present=[
            PresenceOut(
                id=p.public_id,
                user_id=p.user.public_id,
                printed_name=p.user.printed_name,
                role=p.role,
                is_lead=p.is_lead,
                checked_in_at=p.checked_in_at,
                checked_out_at=p.checked_out_at,
            )
            for p in state.present
        ],
        doses=[
            DoseOut(
                id=d.public_id,
                kind=d.kind,
                substance=d.substance,
                amount=d.amount,
                unit=d.unit,
                lot=d.lot,
                administered_at=d.administered_at,
                administered_by=d.administered_by.printed_name,
                witnessed_by=d.witnessed_by.printed_name,
                approved_by=d.approved_by.printed_name if d.approved_by else None,
            )
            for d in state.doses
        ],
        observations=[_observation_out(o) for o in state.observations],
        alerts=[_alert_out(a) for a in state.alerts],
        schedule=[DueOut(minute=d.minute, due_at=d.due_at, status=d.status.value) for d in state.schedule],
    )


def _site_user(session: DosingSession, user_id: uuid.UUID, field: str) -> User:
    """A member of staff named in the body; anyone else is a field error (the session is visible)."""
    try:
        return site_member(site=session.course.site, user_id=user_id)
    except NotFound:
        raise ValidationFailed(
            f"{field}: not a member of staff at this site",
            fields={field: ["not a member of staff at this site"]},
        ) from None


@router.post(
    "/sessions",
    auth=user_auth,
    response={201: SessionOut, **ERRORS},
    summary="Open the session of a dosing visit",
)
def session_open(request: HttpRequest, payload: SessionOpenIn) -> Status[SessionOut]:
    user, actor = _user(request)
    visit = access_visit(user=user, visit_id=payload.visit_id)
    return Status(201, _state_out(services.session_open(actor=actor, visit=visit)))


@router.get(
    "/sessions/{session_id}",
    auth=user_auth,
    response={200: SessionOut, **ERRORS},
    summary="The session as the room sees it",
)
def session_get(request: HttpRequest, session_id: uuid.UUID) -> SessionOut:
    return _state_out(selectors.access_session(user=principal_user(request), session_id=session_id))


@router.get(
    "/sessions/{session_id}/observations",
    auth=user_auth,
    response={200: list[ObservationOut], **ERRORS},
    summary="The session's latest observations, oldest first (default 200, at most 1,000)",
)
def observations_list(
    request: HttpRequest,
    session_id: uuid.UUID,
    limit: Query[int] = 200,
    parameter: Query[str | None] = None,
) -> list[ObservationOut]:
    if not 1 <= limit <= 1000:
        raise ValidationFailed(
            "limit: must be between 1 and 1000", fields={"limit": ["must be between 1 and 1000"]}
        )
    session = selectors.access_session(user=principal_user(request), session_id=session_id)
    return [
        _observation_out(o) for o in selectors.recent_observations(session, limit=limit, parameter=parameter)
    ]


@router.put(
    "/sessions/{session_id}/checklist/{code}",
    auth=user_auth,
    response={200: SessionOut, **ERRORS},
    summary="Confirm a pre-session check",
)
def checklist_answer(
    request: HttpRequest, session_id: uuid.UUID, code: str, payload: ChecklistIn
) -> SessionOut:
    user, actor = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    services.checklist_answer(actor=actor, session=session, code=code, done=payload.done, note=payload.note)
    return _state_out(session)


@router.post(
    "/sessions/{session_id}/presence",
    auth=user_auth,
    response={201: SessionOut, **ERRORS},
    summary="Check a member of staff in",
)
def presence_check_in(request: HttpRequest, session_id: uuid.UUID, payload: PresenceIn) -> Status[SessionOut]:
    user, actor = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    person = _site_user(session, payload.user_id, "user_id")
    services.presence_check_in(
        actor=actor, session=session, user=person, role=payload.role, is_lead=payload.is_lead
    )
    return Status(201, _state_out(session))


@router.post(
    "/sessions/{session_id}/presence/{presence_id}/check-out",
    auth=user_auth,
    response={200: SessionOut, **ERRORS},
    summary="Check a member of staff out",
)
def presence_check_out(request: HttpRequest, session_id: uuid.UUID, presence_id: uuid.UUID) -> SessionOut:
    user, actor = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    services.presence_check_out(
        actor=actor, presence=selectors.access_presence(session=session, presence_id=presence_id)
    )
    return _state_out(session)


@router.post(
    "/sessions/{session_id}/doses",
    auth=user_auth,
    response={201: SessionOut, **ERRORS},
    summary="Give a dose (checked against the protocol, witnessed by e-signature)",
)
def dose_administer(request: HttpRequest, session_id: uuid.UUID, payload: DoseIn) -> Status[SessionOut]:
    user, actor = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    services.dose_administer(
        actor=actor,
        session=session,
        kind=payload.kind,
        amount=payload.amount,
        lot=payload.lot,
        administered_at=payload.administered_at,
        witness=_site_user(session, payload.witness_id, "witness_id"),
        witness_password=payload.witness_password,
        witness_otp_code=payload.witness_otp_code,
        physician=_site_user(session, payload.physician_id, "physician_id") if payload.physician_id else None,
        physician_password=payload.physician_password,
        physician_otp_code=payload.physician_otp_code,
    )
    return Status(201, _state_out(session))


@router.post(
    "/sessions/{session_id}/vitals",
    auth=user_auth,
    response={201: SessionOut, **ERRORS},
    summary="Record a set of vital signs (all or none)",
)
def vitals_record(request: HttpRequest, session_id: uuid.UUID, payload: VitalsIn) -> Status[SessionOut]:
    user, actor = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    services.vitals_record(
        actor=actor,
        session=session,
        values={name: (v.value, v.unit) for name, v in payload.values.items()},
        observed_at=payload.observed_at,
        note=payload.note,
    )
    return Status(201, _state_out(session))


@router.post(
    "/alerts/{alert_id}/acknowledge",
    auth=user_auth,
    response={200: AlertOut, **ERRORS},
    summary="Acknowledge an alert with the action taken",
)
def alert_acknowledge(request: HttpRequest, alert_id: uuid.UUID, payload: AlertAckIn) -> AlertOut:
    user, actor = _user(request)
    a = services.alert_acknowledge(
        actor=actor,
        alert=selectors.access_alert(user=user, alert_id=alert_id),
        action=payload.action,
        note=payload.note,
    )
    return _alert_out(a)


@router.post(
    "/alerts/{alert_id}/resolve",
    auth=user_auth,
    response={200: AlertOut, **ERRORS},
    summary="Resolve an acknowledged alert",
)
def alert_resolve(request: HttpRequest, alert_id: uuid.UUID, payload: AlertResolveIn) -> AlertOut:
    user, actor = _user(request)
    a = services.alert_resolve(
        actor=actor, alert=selectors.access_alert(user=user, alert_id=alert_id), note=payload.note
    )
    return _alert_out(a)
