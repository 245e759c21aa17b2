"""Pages of the session room (the tablet in the room), the live board, the printable timeline,
emergencies, and the on-call rota with the day's equipment checks.

Every row is loaded through an ``access_*`` selector; every change goes through a service, whose
``DomainError`` is shown next to the field it names. Role checks here only decide what to
*offer*. Times are entered and shown in the site's time zone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from haven.accounts.actors import actor_for
from haven.accounts.models import Role, Site, TokenKind, User
from haven.accounts.selectors import access_site, roles_for, staff_list
from haven.accounts.services import token_authenticate
from haven.core import events
from haven.core.errors import DomainError, NotFound
from haven.core.forms import attach_error
from haven.core.time import local, now, today_at
from haven.dosing import selectors, services
from haven.dosing.forms import (
    AcknowledgeForm,
    AttestForm,
    CheckInForm,
    ChecklistForm,
    DischargeForm,
    DoseForm,
    EmergencyCloseForm,
    EmergencyEventForm,
    EmergencyPlanForm,
    EquipmentForm,
    OnCallCancelForm,
    OnCallForm,
    ResolveForm,
    SettingForm,
    VitalsForm,
)
from haven.dosing.models import (
    Alert,
    AlertStatus,
    DosingSession,
    Emergency,
    EmergencyStatus,
    OnCallShift,
    SessionStatus,
)
from haven.dosing.selectors import SESSION_READ_ROLES
from haven.dosing.services.oncall import ROTA_ROLES
from haven.dosing.vitals import LABELS
from haven.inventory.views import room_ledger
from haven.patients.selectors import access_visit
from haven.protocols.schema import VitalSign
from haven.protocols.selectors import protocol_of
from haven.scheduling.models import Room, RoomKind

# How often a quiet board stream re-checks the database (alerts made by another process on SQLite)
# and keeps the connection alive through proxies.
STREAM_RECHECK_SECONDS = 5.0


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _in_site_time(site: Site, form: forms.Form) -> bool:
    """Validate ``form`` reading entered times as the site's wall-clock time."""
    with timezone.override(site.time_zone):
        return form.is_valid()


def _run(form: forms.Form, site: Site, call: Callable[[dict[str, Any]], object]) -> int | None:
    """Validate and call the service: None on success, else the status to answer with."""
    if not _in_site_time(site, form):
        return 422
    try:
        call(form.cleaned_data)
    except DomainError as error:
        attach_error(form, error)
        return error.status
    return None


def _staff_choices(site: Site, roles: frozenset[Role]) -> list[tuple[str, str]]:
    return [
        (str(member.user.public_id), member.user.printed_name)
        for member in staff_list(site=site)
        if set(member.roles) & roles and member.user.is_active
    ]


def _person(site: Site, public_id: str) -> User | None:
    if not public_id:
        return None
    return User.objects.filter(public_id=public_id, memberships__site=site).distinct().first()


# The session room ---------------------------------------------------------------------------------
def _forms(session: DosingSession, data: Any = None) -> dict[str, forms.Form]:
    site = session.course.site
    protocol = protocol_of(session.course.protocol_version)
    parameters = protocol.monitoring.parameters if protocol.monitoring else ()
    present = [(str(p.user.public_id), p.user.printed_name) for p in services.present(session)]
    rooms = [
        (str(r.public_id), r.name)
        for r in Room.objects.filter(site=site, is_active=True).order_by("kind", "name")
        if r.kind in (RoomKind.DOSING, RoomKind.OVERNIGHT)
    ]
    initial_setting = {
        "room": str(session.room.public_id) if session.room else "",
        "playlist": session.playlist,
        "eyeshades_offered": session.eyeshades_offered,
        "video_recorded": session.video_recorded,
        "recording_reference": session.recording_reference,
        "recording_retain_until": session.recording_retain_until,
    }
    return {
        "vitals": VitalsForm(data, parameters=parameters),
        "check_in": CheckInForm(data, people=_staff_choices(site, services.SESSION_ROLES)),
        "dose": DoseForm(
            data,
            witnesses=present,
            physicians=_staff_choices(site, frozenset({Role.PHYSICIAN})),
            initial={"kind": "supplemental" if session.first_dose_at else "initial"},
        ),
        "setting": SettingForm(data, rooms=rooms, initial=initial_setting),
        "attest": AttestForm(data, auto_id="id_attest_%s"),
        "discharge": DischargeForm(data),
        "acknowledge": AcknowledgeForm(data, auto_id="id_ack_%s"),
        "resolve": ResolveForm(data, auto_id="id_resolve_%s"),
    }


def _live_context(session: DosingSession, user: User) -> dict[str, Any]:
    site = session.course.site
    state = selectors.session_state(session)
    card = selectors.board_card(session)
    protocol = protocol_of(session.course.protocol_version)
    sets: dict[datetime, dict[str, Any]] = {}
    for observation in state.observations[-60:]:
        sets.setdefault(observation.observed_at, {})[observation.parameter] = observation
    parameters = [p.value for p in protocol.monitoring.parameters] if protocol.monitoring else []
    columns = [(p, LABELS[VitalSign(p)]) for p in parameters]
    readiness = services.discharge_readiness(session) if session.status == SessionStatus.DOSED else None
    return {
        "session": session,
        "site": site,
        "state": state,
        "card": card,
        "parameters": parameters,
        "columns": columns,
        "recent_sets": sorted(sets.items(), key=lambda item: item[0], reverse=True)[:12],
        "schedule": [d for d in state.schedule if d.minute > 0],
        "open_alerts": [a for a in state.alerts if a.status != AlertStatus.RESOLVED],
        "can_record": services.may_record(user, session),
        "readiness": readiness,
        "emergency": card.emergency,
    }


def _room_page(
    request: HttpRequest,
    user: User,
    session: DosingSession,
    *,
    status: int = 200,
    bound: Mapping[str, forms.Form] | None = None,
    failed_alert: Alert | None = None,
) -> HttpResponse:
    session.refresh_from_db()
    site = session.course.site
    room_forms = _forms(session) | dict(bound or {})
    protocol = protocol_of(session.course.protocol_version)
    context = (
        _live_context(session, user)
        | {
            "patient": session.course.patient,
            "visit": session.visit,
            "protocol": protocol,
            "forms": room_forms,
            "failed_alert": failed_alert,
            "now_local": local(now(), site.time_zone),
            "initial_doses": protocol.dosing.initial_doses if protocol.dosing else (),
            "dose_unit": protocol.dosing.unit if protocol.dosing else "",
            "emergencies": list(session.emergencies.all()),
        }
        | room_ledger(user, session)
    )
    return render(request, "dosing/room.html", context, status=status)


@login_required
@require_safe
def room(request: HttpRequest, session_id: str) -> HttpResponse:
    user = _user(request)
    return _room_page(request, user, selectors.access_session(user=user, session_id=session_id))


@login_required
@require_safe
def room_live(request: HttpRequest, session_id: str) -> HttpResponse:
    """The parts of the room that change by themselves: refreshed on each event."""
    user = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    context = _live_context(session, user) | {"forms": _forms(session)}
    return render(request, "dosing/partials/live.html", context)


@login_required
@require_POST
def session_open(request: HttpRequest, visit_id: str) -> HttpResponse:
    user = _user(request)
    visit = access_visit(user=user, visit_id=visit_id)
    existing = DosingSession.objects.filter(visit=visit).first()
    if existing is not None:
        return redirect("dosing:room", session_id=existing.public_id)
    try:
        session = services.session_open(actor=actor_for(request), visit=visit)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("patients:visit", visit_id=visit.public_id)
    return redirect("dosing:room", session_id=session.public_id)


def _room_action(
    request: HttpRequest,
    session_id: str,
    name: str,
    call: Callable[[DosingSession, dict[str, Any]], str],
) -> HttpResponse:
    user = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    form = _forms(session, request.POST)[name]
    done: list[str] = []
    status = _run(form, session.course.site, lambda data: done.append(call(session, data)))
    if status is not None:
        return _room_page(request, user, session, status=status, bound={name: form})
    messages.success(request, done[0])
    return redirect("dosing:room", session_id=session.public_id)


@login_required
@require_POST
def vitals_record(request: HttpRequest, session_id: str) -> HttpResponse:
    def record(session: DosingSession, data: dict[str, Any]) -> str:
        form = _forms(session, request.POST)["vitals"]
        assert isinstance(form, VitalsForm)
        _in_site_time(session.course.site, form)
        stored = services.vitals_record(
            actor=actor_for(request),
            session=session,
            values=form.values(),
            observed_at=data["observed_at"] or now(),
            note=data["note"],
        )
        alerts = Alert.objects.filter(observation__in=stored).count()
        return f"Recorded {len(stored)} value(s)." + (f" {alerts} alert(s) raised." if alerts else "")

    return _room_action(request, session_id, "vitals", record)


@login_required
@require_POST
def checklist_answer(request: HttpRequest, session_id: str) -> HttpResponse:
    user = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    form = ChecklistForm(request.POST)
    if form.is_valid():
        try:
            services.checklist_answer(
                actor=actor_for(request),
                session=session,
                code=form.cleaned_data["code"],
                done=form.cleaned_data["done"],
                note=form.cleaned_data["note"],
            )
        except DomainError as error:
            messages.error(request, error.message)
    else:
        messages.error(request, "The check could not be read; try again.")
    return redirect("dosing:room", session_id=session.public_id)


@login_required
@require_POST
def presence_check_in(request: HttpRequest, session_id: str) -> HttpResponse:
    def check_in(session: DosingSession, data: dict[str, Any]) -> str:
        person = _person(session.course.site, data["user_id"])
        if person is None:
            raise NotFound("No member of this site has that user id.")
        services.presence_check_in(
            actor=actor_for(request),
            session=session,
            user=person,
            role=Role(data["role"]),
            is_lead=data["is_lead"],
        )
        return f"{person.printed_name} checked in."

    return _room_action(request, session_id, "check_in", check_in)


@login_required
@require_POST
def presence_check_out(request: HttpRequest, session_id: str, presence_id: str) -> HttpResponse:
    user = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    presence = selectors.access_presence(session=session, presence_id=presence_id)
    try:
        services.presence_check_out(actor=actor_for(request), presence=presence)
        messages.success(request, f"{presence.user.printed_name} checked out.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("dosing:room", session_id=session.public_id)


@login_required
@require_POST
def dose_administer(request: HttpRequest, session_id: str) -> HttpResponse:
    def give(session: DosingSession, data: dict[str, Any]) -> str:
        site = session.course.site
        witness = _person(site, data["witness"])
        if witness is None:
            raise NotFound("No member of this site has that user id.")
        dose = services.dose_administer(
            actor=actor_for(request),
            session=session,
            kind=data["kind"],
            amount=data["amount"],
            lot=data["lot"],
            administered_at=data["administered_at"] or now(),
            witness=witness,
            witness_password=data["witness_password"],
            witness_otp_code=data["witness_otp_code"],
            physician=_person(site, data["physician"]),
            physician_password=data["physician_password"],
            physician_otp_code=data["physician_otp_code"],
        )
        return f"{dose.get_kind_display()} dose recorded and witnessed."

    return _room_action(request, session_id, "dose", give)


@login_required
@require_POST
def setting_record(request: HttpRequest, session_id: str) -> HttpResponse:
    def record(session: DosingSession, data: dict[str, Any]) -> str:
        room_id = data["room"]
        chosen = Room.objects.filter(public_id=room_id).first() if room_id else None
        services.setting_record(
            actor=actor_for(request),
            session=session,
            room=chosen,
            playlist=data["playlist"],
            eyeshades_offered=data["eyeshades_offered"],
            video_recorded=data["video_recorded"],
            recording_reference=data["recording_reference"],
            recording_retain_until=data["recording_retain_until"],
            reason=data["reason"],
        )
        return "Setting recorded."

    return _room_action(request, session_id, "setting", record)


@login_required
@require_POST
def discharge_attest(request: HttpRequest, session_id: str) -> HttpResponse:
    def attest(session: DosingSession, data: dict[str, Any]) -> str:
        services.discharge_attest(
            actor=actor_for(request),
            session=session,
            alert_and_oriented=data["alert_and_oriented"],
            escort_present=data["escort_present"],
            escort_name=data["escort_name"],
            note=data["note"],
            password=data["password"],
            otp_code=data["otp_code"],
        )
        return "Your discharge attestation is signed."

    return _room_action(request, session_id, "attest", attest)


@login_required
@require_POST
def session_discharge(request: HttpRequest, session_id: str) -> HttpResponse:
    def discharge(session: DosingSession, data: dict[str, Any]) -> str:
        services.session_discharge(
            actor=actor_for(request), session=session, overnight_stay=data["overnight_stay"]
        )
        return "Discharged. The post-session check-ins are scheduled."

    return _room_action(request, session_id, "discharge", discharge)


def _alert_action(
    request: HttpRequest, alert_id: str, name: str, call: Callable[[Alert, dict[str, Any]], str]
) -> HttpResponse:
    user = _user(request)
    alert = selectors.access_alert(user=user, alert_id=alert_id)
    session = selectors.access_session(user=user, session_id=alert.session.public_id)
    form = _forms(session, request.POST)[name]
    done: list[str] = []
    status = _run(form, session.course.site, lambda data: done.append(call(alert, data)))
    if status is not None:
        return _room_page(request, user, session, status=status, bound={name: form}, failed_alert=alert)
    messages.success(request, done[0])
    if request.POST.get("next") == "board":
        return redirect("dosing:board", site_id=session.course.site.public_id)
    return redirect("dosing:room", session_id=session.public_id)


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: str) -> HttpResponse:
    def acknowledge(alert: Alert, data: dict[str, Any]) -> str:
        services.alert_acknowledge(
            actor=actor_for(request), alert=alert, action=data["action"], note=data["note"]
        )
        return "Alert acknowledged."

    return _alert_action(request, alert_id, "acknowledge", acknowledge)


@login_required
@require_POST
def alert_resolve(request: HttpRequest, alert_id: str) -> HttpResponse:
    def resolve(alert: Alert, data: dict[str, Any]) -> str:
        services.alert_resolve(actor=actor_for(request), alert=alert, note=data["note"])
        return "Alert resolved."

    return _alert_action(request, alert_id, "resolve", resolve)


@login_required
@require_safe
def timeline(request: HttpRequest, session_id: str) -> HttpResponse:
    user = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    return render(
        request,
        "dosing/timeline.html",
        {
            "session": session,
            "site": session.course.site,
            "patient": session.course.patient,
            "items": selectors.session_timeline(session),
            "doses": list(session.doses.select_related("administered_by", "witnessed_by")),
            "printed_at": local(now(), session.course.site.time_zone),
        },
    )


# Emergencies --------------------------------------------------------------------------------------
@login_required
@require_POST
def emergency_declare(request: HttpRequest, session_id: str) -> HttpResponse:
    user = _user(request)
    session = selectors.access_session(user=user, session_id=session_id)
    try:
        emergency = services.emergency_declare(actor=actor_for(request), session=session)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("dosing:room", session_id=session.public_id)
    return redirect("dosing:emergency", emergency_id=emergency.public_id)


def _emergency_page(
    request: HttpRequest,
    user: User,
    emergency: Emergency,
    *,
    status: int = 200,
    bound: Mapping[str, forms.Form] | None = None,
) -> HttpResponse:
    session = emergency.session
    site = session.course.site
    procedure, _ = services.emergency_plan(site)
    bound = bound or {}
    return render(
        request,
        "dosing/emergency.html",
        {
            "emergency": emergency,
            "session": session,
            "site": site,
            "patient": session.course.patient,
            "procedure": procedure,
            "equipment": services.equipment_status(site, today_at(site.time_zone)),
            "events": list(emergency.events.select_related("by")),
            "notified": list(emergency.notifications.select_related("recipient").order_by("pk")),
            "event_form": bound.get("event") or EmergencyEventForm(),
            "close_form": bound.get("close") or EmergencyCloseForm(auto_id="id_close_%s"),
            "is_physician": Role.PHYSICIAN in roles_for(user, site),
            "can_record": services.may_record(user, session),
            "is_open": emergency.status == EmergencyStatus.OPEN,
        },
        status=status,
    )


@login_required
@require_safe
def emergency_page(request: HttpRequest, emergency_id: str) -> HttpResponse:
    user = _user(request)
    return _emergency_page(request, user, selectors.access_emergency(user=user, emergency_id=emergency_id))


@login_required
@require_POST
def emergency_event(request: HttpRequest, emergency_id: str) -> HttpResponse:
    user = _user(request)
    emergency = selectors.access_emergency(user=user, emergency_id=emergency_id)
    form = EmergencyEventForm(request.POST)
    status = _run(
        form,
        emergency.session.course.site,
        lambda data: services.emergency_event_add(
            actor=actor_for(request),
            emergency=emergency,
            kind=data["kind"],
            at=data["at"] or now(),
            detail=data["detail"],
            place=data["place"],
        ),
    )
    if status is not None:
        return _emergency_page(request, user, emergency, status=status, bound={"event": form})
    messages.success(request, "Added to the emergency's timeline.")
    return redirect("dosing:emergency", emergency_id=emergency.public_id)


@login_required
@require_POST
def emergency_close(request: HttpRequest, emergency_id: str) -> HttpResponse:
    user = _user(request)
    emergency = selectors.access_emergency(user=user, emergency_id=emergency_id)
    form = EmergencyCloseForm(request.POST, auto_id="id_close_%s")
    status = _run(
        form,
        emergency.session.course.site,
        lambda data: services.emergency_close(
            actor=actor_for(request),
            emergency=emergency,
            summary=data["summary"],
            password=data["password"],
            otp_code=data["otp_code"],
        ),
    )
    if status is not None:
        return _emergency_page(request, user, emergency, status=status, bound={"close": form})
    messages.success(request, "The emergency is closed with your signed summary; it awaits SAE review.")
    return redirect("dosing:emergency", emergency_id=emergency.public_id)


# The live board -----------------------------------------------------------------------------------
@login_required
@require_safe
def board_page(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    site = access_site(user=user, site_id=site_id, roles=SESSION_READ_ROLES)
    return render(
        request,
        "dosing/board.html",
        {"site": site, "cards": selectors.board(site), "acknowledge_form": AcknowledgeForm(auto_id=False)},
    )


@login_required
@require_safe
def board_cards(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    site = access_site(user=user, site_id=site_id, roles=SESSION_READ_ROLES)
    return render(
        request,
        "dosing/partials/board_cards.html",
        {"site": site, "cards": selectors.board(site), "acknowledge_form": AcknowledgeForm(auto_id=False)},
    )


def _stream_user(request: HttpRequest) -> User | None:
    """The person behind a stream: the browser session, or a user API token (Bearer)."""
    if isinstance(request.user, User) and request.user.is_authenticated:
        return request.user
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = token_authenticate(secret=header.removeprefix("Bearer ").strip())
        if token is not None and token.kind == TokenKind.USER and token.user is not None:
            return token.user
    return None


@require_safe
def board_events(request: HttpRequest, site_id: str) -> HttpResponseBase:
    """Server-Sent Events: one message per change at the site (observation, alert, presence, dose,
    emergency, discharge, setting, session), and ``refresh`` when the periodic re-check saw a change
    made elsewhere. The page fetches what changed; the stream carries ids, not clinical detail."""
    user = _stream_user(request)
    if user is None:
        return HttpResponse("Sign in first.", status=401, content_type="text/plain")
    site = access_site(user=user, site_id=site_id, roles=SESSION_READ_ROLES)
    # Under ASGI (``haven serve``) an async stream; under WSGI (the test server) a thread per stream.
    content: Iterator[str] | AsyncIterator[str] = (
        _astream(site) if isinstance(request, ASGIRequest) else _stream(site)
    )
    response = StreamingHttpResponse(content, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


HELLO = "retry: 2000\n: connected\n\n"


async def _astream(site: Site) -> AsyncIterator[str]:
    subscription = events.subscribe(site.public_id, asynchronous=True)
    try:
        yield HELLO
        fingerprint = await sync_to_async(selectors.board_fingerprint)(site)
        while True:
            event = await subscription.aget(timeout=STREAM_RECHECK_SECONDS)
            if event is not None:
                yield event.encode()
                continue
            current = await sync_to_async(selectors.board_fingerprint)(site)
            if current != fingerprint:
                fingerprint = current
                yield events.Event(
                    site=str(site.public_id), kind="refresh", data={}, at=now().isoformat()
                ).encode()
            else:
                yield ": keep-alive\n\n"
    except asyncio.CancelledError:  # the client went away
        raise
    finally:
        events.unsubscribe(subscription)


def _fingerprint_and_let_go(site: Site) -> tuple[object, ...]:
    """The fingerprint, without keeping this thread's database connection open while it waits."""
    try:
        return selectors.board_fingerprint(site)
    finally:
        connection.close()


def _stream(site: Site) -> Iterator[str]:
    subscription = events.subscribe(site.public_id)
    try:
        yield HELLO
        fingerprint = _fingerprint_and_let_go(site)
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            event = subscription.get(timeout=STREAM_RECHECK_SECONDS)
            if event is not None:
                yield event.encode()
                continue
            current = _fingerprint_and_let_go(site)
            if current != fingerprint:
                fingerprint = current
                yield events.Event(
                    site=str(site.public_id), kind="refresh", data={}, at=now().isoformat()
                ).encode()
            else:
                yield ": keep-alive\n\n"
    finally:
        events.unsubscribe(subscription)


# On call and the day's equipment ------------------------------------------------------------------
def _oncall_page(
    request: HttpRequest,
    user: User,
    site: Site,
    *,
    status: int = 200,
    bound: Mapping[str, forms.Form] | None = None,
) -> HttpResponse:
    bound = bound or {}
    moment = now()
    procedure, equipment_list = services.emergency_plan(site)
    return render(
        request,
        "dosing/oncall.html",
        {
            "site": site,
            "on_call_now": services.on_call_physicians(site, moment),
            "rota_empty_now": not OnCallShift.objects.filter(
                site=site, starts_at__lte=moment, ends_at__gt=moment, cancelled_at__isnull=True
            ).exists(),
            "shifts": list(
                OnCallShift.objects.filter(site=site, ends_at__gt=moment, cancelled_at__isnull=True)
                .select_related("physician")
                .order_by("starts_at")
            ),
            "form": bound.get("oncall")
            or OnCallForm(physicians=_staff_choices(site, frozenset({Role.PHYSICIAN}))),
            "cancel_form": OnCallCancelForm(auto_id=False),
            "equipment": services.equipment_status(site, today_at(site.time_zone)),
            "equipment_form": EquipmentForm(auto_id=False),
            "procedure": procedure,
            "today": today_at(site.time_zone),
            "can_keep_rota": bool(roles_for(user, site) & ROTA_ROLES),
            "plan_form": bound.get("plan")
            if "plan" in bound
            else (
                EmergencyPlanForm(initial={"procedure": procedure, "equipment": "\n".join(equipment_list)})
                if Role.SITE_ADMIN in roles_for(user, site)
                else None
            ),
        },
        status=status,
    )


@login_required
@require_safe
def oncall_page(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    return _oncall_page(request, user, access_site(user=user, site_id=site_id, roles=SESSION_READ_ROLES))


@login_required
@require_POST
def oncall_add(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    site = access_site(user=user, site_id=site_id, roles=SESSION_READ_ROLES)
    form = OnCallForm(request.POST, physicians=_staff_choices(site, frozenset({Role.PHYSICIAN})))

    def add(data: dict[str, Any]) -> None:
        physician = _person(site, data["physician"])
        if physician is None:
            raise NotFound("No member of this site has that user id.")
        services.oncall_add(
            actor=actor_for(request),
            site=site,
            physician=physician,
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
        )

    status = _run(form, site, add)
    if status is not None:
        return _oncall_page(request, user, site, status=status, bound={"oncall": form})
    messages.success(request, "Shift added to the rota.")
    return redirect("dosing:oncall", site_id=site.public_id)


@login_required
@require_POST
def oncall_cancel(request: HttpRequest, site_id: str, shift_id: str) -> HttpResponse:
    user = _user(request)
    site = access_site(user=user, site_id=site_id, roles=SESSION_READ_ROLES)
    shift = OnCallShift.objects.filter(site=site, public_id=shift_id).first()
    if shift is None:
        raise NotFound("Shift not found.")
    form = OnCallCancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason to cancel a shift.")
    else:
        try:
            services.oncall_cancel(actor=actor_for(request), shift=shift, reason=form.cleaned_data["reason"])
            messages.success(request, "Shift cancelled.")
        except DomainError as error:
            messages.error(request, error.message)
    return redirect("dosing:oncall", site_id=site.public_id)


@login_required
@require_POST
def equipment_check(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    site = access_site(user=user, site_id=site_id, roles=SESSION_READ_ROLES)
    form = EquipmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The check could not be read; try again.")
    else:
        try:
            services.equipment_check(
                actor=actor_for(request),
                site=site,
                item=form.cleaned_data["item"],
                ok=form.cleaned_data["ok"],
                note=form.cleaned_data["note"],
            )
            messages.success(request, f"{form.cleaned_data['item']}: recorded.")
        except DomainError as error:
            messages.error(request, f"{form.cleaned_data['item']}: {error.message}")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("dosing:oncall", site_id=site.public_id)


@login_required
@require_POST
def emergency_plan_set(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    site = access_site(user=user, site_id=site_id, roles=SESSION_READ_ROLES)
    form = EmergencyPlanForm(request.POST)
    status = _run(
        form,
        site,
        lambda data: services.emergency_plan_set(
            actor=actor_for(request), site=site, procedure=data["procedure"], equipment=form.items()
        ),
    )
    if status is not None:
        return _oncall_page(request, user, site, status=status, bound={"plan": form})
    messages.success(request, "The emergency plan is saved.")
    return redirect("dosing:oncall", site_id=site.public_id)
