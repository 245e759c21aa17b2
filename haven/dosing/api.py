"""Dosing API: the session room (checklist, presence, doses, vitals, alerts) and device ingest."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

from django.http import HttpRequest
from ninja import Query, Router, Status

from haven.accounts.auth import Principal, device_auth, principal_actor, principal_user, user_auth
from haven.accounts.models import Site, User
from haven.accounts.selectors import access_site, site_member
from haven.audit.context import Actor
from haven.core.errors import NotFound, PermissionDenied, ValidationFailed
from haven.core.schemas import ERRORS
from haven.core.time import now, today_at
from haven.dosing import selectors, services
from haven.dosing.ingest import parse_observations
from haven.dosing.models import Alert, DosingSession, Emergency, EmergencyPlan, Observation, OnCallShift
from haven.dosing.schemas import (
    AlertAckIn,
    AlertOut,
    AlertResolveIn,
    AttestationOut,
    AttestIn,
    ChecklistIn,
    ChecklistItemOut,
    CriterionOut,
    DischargeIn,
    DischargeOut,
    DoseIn,
    DoseOut,
    DueOut,
    EmergencyCloseIn,
    EmergencyEventIn,
    EmergencyEventOut,
    EmergencyIn,
    EmergencyOut,
    EmergencyPlanIn,
    EmergencyPlanOut,
    EquipmentCheckIn,
    EquipmentItemOut,
    IngestErrorOut,
    IngestOut,
    ObservationOut,
    OnCallCancelIn,
    OnCallIn,
    OnCallOut,
    PresenceIn,
    PresenceOut,
    SessionOpenIn,
    SessionOut,
    SettingIn,
    SettingOut,
    TimelineItemOut,
    VitalsIn,
)
from haven.patients.selectors import access_visit
from haven.scheduling.models import Room

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


# Setting, timeline, discharge ---------------------------------------------------------------------
def _setting_out(session: DosingSession) -> SettingOut:
    return SettingOut(
        room_id=session.room.public_id if session.room else None,
        room=session.room.name if session.room else None,
        playlist=session.playlist,
        eyeshades_offered=session.eyeshades_offered,
        video_recorded=session.video_recorded,
        recording_reference=session.recording_reference,
        recording_retain_until=session.recording_retain_until,
    )


@router.put(
    "/sessions/{session_id}/setting",
    auth=user_auth,
    response={200: SettingOut, **ERRORS},
    summary="Record the setting: room, playlist, eyeshades, video recording (reference and retention)",
)
def setting_record(request: HttpRequest, session_id: uuid.UUID, payload: SettingIn) -> SettingOut:
    user, actor = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    room = None
    if payload.room_id is not None:
        room = Room.objects.filter(public_id=payload.room_id, site=session.course.site).first()
        if room is None:
            raise ValidationFailed(
                "room_id: not a room of this site", fields={"room_id": ["not a room of this site"]}
            )
    session = services.setting_record(
        actor=actor,
        session=session,
        room=room,
        playlist=payload.playlist,
        eyeshades_offered=payload.eyeshades_offered,
        video_recorded=payload.video_recorded,
        recording_reference=payload.recording_reference,
        recording_retain_until=payload.recording_retain_until,
        reason=payload.reason,
    )
    return _setting_out(session)


@router.get(
    "/sessions/{session_id}/timeline",
    auth=user_auth,
    response={200: list[TimelineItemOut], **ERRORS},
    summary="Doses, vitals, alerts, emergencies, notes and presence in time order",
)
def timeline(request: HttpRequest, session_id: uuid.UUID) -> list[TimelineItemOut]:
    session = selectors.access_session(user=principal_user(request), session_id=session_id)
    return [
        TimelineItemOut(at=i.at, kind=i.kind, text=i.text, by=i.by)
        for i in selectors.session_timeline(session)
    ]


def _discharge_out(session: DosingSession) -> DischargeOut:
    session.refresh_from_db()
    readiness = services.discharge_readiness(session) if session.first_dose_at else None
    summary = session.discharge_summary or {}
    criteria = (
        [CriterionOut(**c) for c in summary.get("criteria", [])]
        if session.status == "discharged"
        else [CriterionOut(**vars(c)) for c in readiness.criteria]
        if readiness
        else []
    )
    return DischargeOut(
        status=session.status,
        criteria=criteria,
        attestations=[
            AttestationOut(
                therapist=a.therapist.printed_name,
                alert_and_oriented=a.alert_and_oriented,
                escort_present=a.escort_present,
                escort_name=a.escort_name,
                at=a.created_at,
            )
            for a in session.attestations.select_related("therapist")
        ],
        attestations_required=readiness.attestations_required if readiness else 0,
        overnight_required=readiness.overnight_required if readiness else False,
        ready=bool(readiness and readiness.ready and session.status == "dosed"),
        discharged_at=session.discharged_at,
        overnight_stay=session.overnight_stay,
        check_ins=[{k: str(v) for k, v in c.items()} for c in summary.get("check_ins", [])],
    )


@router.get(
    "/sessions/{session_id}/discharge",
    auth=user_auth,
    response={200: DischargeOut, **ERRORS},
    summary="The discharge criteria as of now, the therapists' attestations, and the discharge",
)
def discharge_get(request: HttpRequest, session_id: uuid.UUID) -> DischargeOut:
    return _discharge_out(selectors.access_session(user=principal_user(request), session_id=session_id))


@router.post(
    "/sessions/{session_id}/discharge/attestations",
    auth=user_auth,
    response={201: DischargeOut, **ERRORS},
    summary="A therapist in the room attests discharge (e-signature: password and code)",
)
def discharge_attest(request: HttpRequest, session_id: uuid.UUID, payload: AttestIn) -> Status[DischargeOut]:
    user, actor = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    services.discharge_attest(
        actor=actor,
        session=session,
        alert_and_oriented=payload.alert_and_oriented,
        escort_present=payload.escort_present,
        escort_name=payload.escort_name,
        note=payload.note,
        password=payload.password,
        otp_code=payload.otp_code,
    )
    return Status(201, _discharge_out(session))


@router.post(
    "/sessions/{session_id}/discharge",
    auth=user_auth,
    response={200: DischargeOut, **ERRORS},
    summary="Discharge: every criterion met and attested; schedules the post-session check-ins",
)
def discharge(request: HttpRequest, session_id: uuid.UUID, payload: DischargeIn) -> DischargeOut:
    user, actor = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    services.session_discharge(actor=actor, session=session, overnight_stay=payload.overnight_stay)
    return _discharge_out(session)


# Emergencies --------------------------------------------------------------------------------------
def _emergency_out(emergency: Emergency) -> EmergencyOut:
    emergency = Emergency.objects.select_related("declared_by", "closed_by", "session").get(pk=emergency.pk)
    return EmergencyOut(
        id=emergency.public_id,
        session_id=emergency.session.public_id,
        status=emergency.status,
        declared_at=emergency.declared_at,
        declared_by=emergency.declared_by.printed_name,
        description=emergency.description,
        sae_review=emergency.sae_review,
        summary=emergency.summary,
        closed_by=emergency.closed_by.printed_name if emergency.closed_by else None,
        closed_at=emergency.closed_at,
        events=[
            EmergencyEventOut(kind=e.kind, at=e.at, detail=e.detail, place=e.place, by=e.by.printed_name)
            for e in emergency.events.select_related("by")
        ],
        notified=[n.recipient.printed_name for n in emergency.notifications.select_related("recipient")],
    )


@router.post(
    "/sessions/{session_id}/emergencies",
    auth=user_auth,
    response={201: EmergencyOut, **ERRORS},
    summary="Declare a medical emergency (one tap; a second declaration returns the open one)",
)
def emergency_declare(
    request: HttpRequest, session_id: uuid.UUID, payload: EmergencyIn
) -> Status[EmergencyOut]:
    user, actor = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    emergency = services.emergency_declare(actor=actor, session=session, description=payload.description)
    return Status(201, _emergency_out(emergency))


@router.get(
    "/emergencies/{emergency_id}",
    auth=user_auth,
    response={200: EmergencyOut, **ERRORS},
    summary="An emergency record with its timeline and who was alerted",
)
def emergency_get(request: HttpRequest, emergency_id: uuid.UUID) -> EmergencyOut:
    return _emergency_out(selectors.access_emergency(user=principal_user(request), emergency_id=emergency_id))


@router.post(
    "/emergencies/{emergency_id}/events",
    auth=user_auth,
    response={201: EmergencyOut, **ERRORS},
    summary="Add an intervention, medication, call to emergency services, transfer or note",
)
def emergency_event(
    request: HttpRequest, emergency_id: uuid.UUID, payload: EmergencyEventIn
) -> Status[EmergencyOut]:
    user, actor = _user(request)
    emergency = selectors.access_emergency(user=user, emergency_id=emergency_id)
    services.emergency_event_add(
        actor=actor,
        emergency=emergency,
        kind=payload.kind,
        at=payload.at or now(),
        detail=payload.detail,
        place=payload.place,
    )
    return Status(201, _emergency_out(emergency))


@router.post(
    "/emergencies/{emergency_id}/close",
    auth=user_auth,
    response={200: EmergencyOut, **ERRORS},
    summary="Close with the physician's summary, signed (password and code)",
)
def emergency_close(request: HttpRequest, emergency_id: uuid.UUID, payload: EmergencyCloseIn) -> EmergencyOut:
    user, actor = _user(request)
    emergency = selectors.access_emergency(user=user, emergency_id=emergency_id)
    services.emergency_close(
        actor=actor,
        emergency=emergency,
        summary=payload.summary,
        password=payload.password,
        otp_code=payload.otp_code,
    )
    return _emergency_out(emergency)


# On call and equipment ----------------------------------------------------------------------------
def _shift_out(shift: OnCallShift) -> OnCallOut:
    return OnCallOut(
        id=shift.public_id,
        physician_id=shift.physician.public_id,
        physician=shift.physician.printed_name,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        cancelled_at=shift.cancelled_at,
    )


@router.get(
    "/sites/{site_id}/on-call",
    auth=user_auth,
    response={200: list[OnCallOut], **ERRORS},
    summary="Shifts of the on-call rota that have not ended",
)
def oncall_list(request: HttpRequest, site_id: uuid.UUID) -> list[OnCallOut]:
    site = access_site(user=principal_user(request), site_id=site_id, roles=selectors.SESSION_READ_ROLES)
    shifts = OnCallShift.objects.filter(site=site, ends_at__gt=now(), cancelled_at__isnull=True)
    return [_shift_out(s) for s in shifts.select_related("physician").order_by("starts_at")]


@router.post(
    "/sites/{site_id}/on-call",
    auth=user_auth,
    response={201: OnCallOut, **ERRORS},
    summary="Put a physician on call (escalations and emergencies reach them)",
)
def oncall_add(request: HttpRequest, site_id: uuid.UUID, payload: OnCallIn) -> Status[OnCallOut]:
    user, actor = _user(request)
    site = access_site(user=user, site_id=site_id, roles=selectors.SESSION_READ_ROLES)
    try:
        physician = site_member(site=site, user_id=payload.physician_id)
    except NotFound:
        raise ValidationFailed(
            "physician_id: not a member of staff at this site",
            fields={"physician_id": ["not a member of staff at this site"]},
        ) from None
    shift = services.oncall_add(
        actor=actor, site=site, physician=physician, starts_at=payload.starts_at, ends_at=payload.ends_at
    )
    return Status(201, _shift_out(shift))


@router.post(
    "/sites/{site_id}/on-call/{shift_id}/cancel",
    auth=user_auth,
    response={200: OnCallOut, **ERRORS},
    summary="Cancel a shift, with a reason",
)
def oncall_cancel(
    request: HttpRequest, site_id: uuid.UUID, shift_id: uuid.UUID, payload: OnCallCancelIn
) -> OnCallOut:
    user, actor = _user(request)
    site = access_site(user=user, site_id=site_id, roles=selectors.SESSION_READ_ROLES)
    shift = (
        OnCallShift.objects.filter(site=site, public_id=shift_id).select_related("physician", "site").first()
    )
    if shift is None:
        raise NotFound("Shift not found.")
    return _shift_out(services.oncall_cancel(actor=actor, shift=shift, reason=payload.reason))


def _equipment_out(site: Site) -> list[EquipmentItemOut]:
    return [
        EquipmentItemOut(
            item=item,
            checked=check is not None,
            ok=check.ok if check else None,
            note=check.note if check else "",
            by=check.by.printed_name if check else None,
            at=check.created_at if check else None,
        )
        for item, check in services.equipment_status(site, today_at(site.time_zone))
    ]


@router.get(
    "/sites/{site_id}/equipment",
    auth=user_auth,
    response={200: list[EquipmentItemOut], **ERRORS},
    summary="Today's emergency-equipment checklist (today where the site is)",
)
def equipment_list(request: HttpRequest, site_id: uuid.UUID) -> list[EquipmentItemOut]:
    return _equipment_out(
        access_site(user=principal_user(request), site_id=site_id, roles=selectors.SESSION_READ_ROLES)
    )


@router.post(
    "/sites/{site_id}/equipment",
    auth=user_auth,
    response={201: list[EquipmentItemOut], **ERRORS},
    summary="Record today's check of one item",
)
def equipment_check(
    request: HttpRequest, site_id: uuid.UUID, payload: EquipmentCheckIn
) -> Status[list[EquipmentItemOut]]:
    user, actor = _user(request)
    site = access_site(user=user, site_id=site_id, roles=selectors.SESSION_READ_ROLES)
    services.equipment_check(actor=actor, site=site, item=payload.item, ok=payload.ok, note=payload.note)
    return Status(201, _equipment_out(site))


@router.get(
    "/sites/{site_id}/emergency-plan",
    auth=user_auth,
    response={200: EmergencyPlanOut, **ERRORS},
    summary="The site's emergency procedure and equipment list (Haven's generic one until the site sets its own)",
)
def emergency_plan_get(request: HttpRequest, site_id: uuid.UUID) -> EmergencyPlanOut:
    site = access_site(user=principal_user(request), site_id=site_id, roles=selectors.SESSION_READ_ROLES)
    procedure, equipment = services.emergency_plan(site)
    return EmergencyPlanOut(
        procedure=procedure,
        equipment=equipment,
        site_default=not EmergencyPlan.objects.filter(site=site).exists(),
    )


@router.put(
    "/sites/{site_id}/emergency-plan",
    auth=user_auth,
    response={200: EmergencyPlanOut, **ERRORS},
    summary="Set the site's emergency procedure and equipment list (site administrator)",
)
def emergency_plan_set(
    request: HttpRequest, site_id: uuid.UUID, payload: EmergencyPlanIn
) -> EmergencyPlanOut:
    user, actor = _user(request)
    site = access_site(user=user, site_id=site_id)
    plan = services.emergency_plan_set(
        actor=actor, site=site, procedure=payload.procedure, equipment=payload.equipment
    )
    return EmergencyPlanOut(procedure=plan.procedure, equipment=list(plan.equipment), site_default=False)
