"""Reads for dosing sessions, through the access layer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Max, QuerySet

from haven.accounts.models import Role, Site, SiteMembership, User
from haven.accounts.selectors import sites_for
from haven.core.errors import NotFound
from haven.core.ids import parse_public_id
from haven.core.time import now
from haven.dosing.models import (
    Alert,
    AlertStatus,
    ChecklistAnswer,
    DischargeAttestation,
    DoseAdministration,
    DosingSession,
    Emergency,
    EmergencyStatus,
    Observation,
    Presence,
    SessionStatus,
)
from haven.dosing.vitals import LABELS, UNIT_WORDS, Due, DueStatus
from haven.dosing.vitals import schedule as due_schedule
from haven.protocols.schema import VitalSign
from haven.protocols.selectors import protocol_of

# Who may see sessions: everyone who reads charts except blinded raters, who must learn nothing of
# doses, vital signs or alerts (they could reveal the arm).
SESSION_READ_ROLES = frozenset(
    {
        Role.THERAPIST,
        Role.PHYSICIAN,
        Role.COORDINATOR,
        Role.SITE_ADMIN,
        Role.DATA_MANAGER,
        Role.SPONSOR_MONITOR,
        Role.AUDITOR,
    }
)


def session_sites(user: User) -> QuerySet[Site]:
    return sites_for(user).filter(
        pk__in=SiteMembership.objects.filter(user=user, role__in=SESSION_READ_ROLES).values("site_id")
    )


def access_session(*, user: User, session_id: uuid.UUID | str) -> DosingSession:
    session = (
        DosingSession.objects.filter(
            public_id=parse_public_id(session_id), course__site__in=session_sites(user)
        )
        .select_related("course__site", "course__patient", "course__protocol_version", "visit")
        .first()
    )
    if session is None:
        raise NotFound("Session not found.")
    return session


def device_session(*, site: Site, session_id: uuid.UUID | str) -> DosingSession:
    """A session of the device token's own site; any other is "not found"."""
    session = (
        DosingSession.objects.filter(public_id=parse_public_id(session_id), course__site=site)
        .select_related("course__site", "course__protocol_version", "visit")
        .first()
    )
    if session is None:
        raise NotFound("Session not found.")
    return session


def recent_observations(
    session: DosingSession, *, limit: int = 200, parameter: str | None = None
) -> list[Observation]:
    """The session's newest ``limit`` observations (not entered in error), oldest first."""
    observations = Observation.objects.filter(session=session, entered_in_error=False)
    if parameter:
        observations = observations.filter(parameter=parameter)
    return list(observations.order_by("-observed_at", "-pk")[:limit])[::-1]


def session_state(session: DosingSession) -> SessionState:
    """Everything the room and the board show about one session (last 200 observations)."""
    protocol = protocol_of(session.course.protocol_version)
    answers: dict[str, bool] = {}
    for answer in ChecklistAnswer.objects.filter(session=session).order_by("created_at", "pk"):
        answers[answer.code] = answer.done
    checklist = (
        [
            (item.code, item.text, answers.get(item.code, False))
            for item in protocol.monitoring.pre_session_checklist
        ]
        if protocol.monitoring
        else []
    )
    observations = recent_observations(session)
    schedule: list[Due] = []
    if protocol.monitoring is not None and session.first_dose_at is not None:
        schedule = due_schedule(
            protocol.monitoring,
            dose_at=session.first_dose_at,
            measured=sorted({o.observed_at for o in observations}),
            now=now(),
        )
    return SessionState(
        session=session,
        checklist=checklist,
        present=list(
            Presence.objects.filter(session=session, checked_out_at__isnull=True).select_related("user")
        ),
        doses=list(
            DoseAdministration.objects.filter(session=session).select_related(
                "administered_by", "witnessed_by", "approved_by"
            )
        ),
        observations=observations,
        alerts=list(Alert.objects.filter(session=session).order_by("-created_at")),
        schedule=schedule,
    )


@dataclass(frozen=True)
class SessionState:
    session: DosingSession
    checklist: list[tuple[str, str, bool]]
    present: list[Presence]
    doses: list[DoseAdministration]
    observations: list[Observation]
    alerts: list[Alert]
    schedule: list[Due]


def access_alert(*, user: User, alert_id: uuid.UUID | str) -> Alert:
    alert = (
        Alert.objects.filter(
            public_id=parse_public_id(alert_id), session__course__site__in=session_sites(user)
        )
        .select_related("session__course__site")
        .first()
    )
    if alert is None:
        raise NotFound("Alert not found.")
    return alert


def access_presence(*, session: DosingSession, presence_id: uuid.UUID | str) -> Presence:
    presence = Presence.objects.filter(public_id=parse_public_id(presence_id), session=session).first()
    if presence is None:
        raise NotFound("Presence not found.")
    return presence


# The live board -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LatestVital:
    parameter: str
    label: str
    value: Decimal
    unit: str
    at: datetime
    trend: str  # "up", "down", "steady" or "" (no earlier value)


@dataclass(frozen=True)
class BoardCard:
    session: DosingSession
    minutes_since_dose: int | None
    latest: list[LatestVital]
    next_due: Due | None
    open_alerts: list[Alert]
    emergency: Emergency | None
    present: list[Presence]


ACTIVE = (SessionStatus.PREPARING, SessionStatus.DOSED)


def active_sessions(site: Site) -> list[DosingSession]:
    """The site's sessions being prepared or under monitoring."""
    return list(
        DosingSession.objects.filter(course__site=site, status__in=ACTIVE)
        .select_related("course__site", "course__patient", "course__protocol_version", "visit", "room")
        .order_by("first_dose_at", "created_at")
    )


def latest_vitals(session: DosingSession) -> list[LatestVital]:
    """The newest value of each parameter, with its direction against the value before it."""
    newest: dict[str, list[Observation]] = {}
    for observation in Observation.objects.filter(session=session, entered_in_error=False).order_by(
        "-observed_at", "-pk"
    )[:200]:
        values = newest.setdefault(observation.parameter, [])
        if len(values) < 2:
            values.append(observation)
    result = []
    for parameter in VitalSign:
        values = newest.get(parameter.value, [])
        if not values:
            continue
        last = values[0]
        trend = ""
        if len(values) == 2:
            before = values[1].value
            trend = "up" if last.value > before else "down" if last.value < before else "steady"
        result.append(
            LatestVital(
                parameter=parameter.value,
                label=LABELS[parameter],
                value=last.value,
                unit=UNIT_WORDS.get(last.unit, last.unit),
                at=last.observed_at,
                trend=trend,
            )
        )
    return result


def board_card(session: DosingSession) -> BoardCard:
    moment = now()
    monitoring = protocol_of(session.course.protocol_version).monitoring
    next_due = None
    if monitoring is not None and session.first_dose_at is not None:
        measured = list(
            Observation.objects.filter(session=session, entered_in_error=False)
            .order_by("-observed_at")
            .values_list("observed_at", flat=True)[:200]
        )
        pending = [
            d
            for d in due_schedule(monitoring, dose_at=session.first_dose_at, measured=measured, now=moment)
            if d.status in (DueStatus.OVERDUE, DueStatus.DUE, DueStatus.UPCOMING)
        ]
        next_due = pending[0] if pending else None
    return BoardCard(
        session=session,
        minutes_since_dose=int((moment - session.first_dose_at).total_seconds() // 60)
        if session.first_dose_at
        else None,
        latest=latest_vitals(session),
        next_due=next_due,
        open_alerts=list(
            Alert.objects.filter(session=session).exclude(status=AlertStatus.RESOLVED).order_by("-created_at")
        ),
        emergency=Emergency.objects.filter(session=session, status=EmergencyStatus.OPEN).first(),
        present=list(
            Presence.objects.filter(session=session, checked_out_at__isnull=True)
            .select_related("user")
            .order_by("checked_in_at")
        ),
    )


def board(site: Site) -> list[BoardCard]:
    return [board_card(session) for session in active_sessions(site)]


def board_fingerprint(site: Site) -> tuple[object, ...]:
    """Changes when anything the board shows changes: the board stream's safety re-check."""
    sessions = DosingSession.objects.filter(course__site=site, status__in=ACTIVE)
    alerts = Alert.objects.filter(session__in=sessions).aggregate(n=Count("pk"), at=Max("updated_at"))
    emergencies = Emergency.objects.filter(session__in=sessions).aggregate(at=Max("updated_at"))
    return (
        tuple(sessions.order_by("pk").values_list("pk", "updated_at")),
        alerts["n"],
        alerts["at"],
        emergencies["at"],
        Observation.objects.filter(session__in=sessions).aggregate(last=Max("pk"))["last"],
        Presence.objects.filter(session__in=sessions).aggregate(at=Max("updated_at"))["at"],
    )


# The timeline -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # checklist, presence, dose, vitals, alert, emergency, note, setting, discharge
    text: str
    by: str = ""


def session_timeline(session: DosingSession) -> list[TimelineItem]:
    """Doses, vitals, alerts, emergencies, notes and presence of one session, in time order."""
    items: list[TimelineItem] = [
        TimelineItem(session.created_at, "session", f"Session opened for {session.visit.name}")
    ]
    for answer in ChecklistAnswer.objects.filter(session=session).select_related("by"):
        state = "confirmed" if answer.done else "withdrawn"
        note = f" ({answer.note})" if answer.note else ""
        items.append(
            TimelineItem(
                answer.created_at, "checklist", f"Check {answer.code} {state}{note}", answer.by.printed_name
            )
        )
    for presence in Presence.objects.filter(session=session).select_related("user"):
        lead = ", lead" if presence.is_lead else ""
        who = presence.user.printed_name
        items.append(TimelineItem(presence.checked_in_at, "presence", f"{who} in ({presence.role}{lead})"))
        if presence.checked_out_at:
            items.append(TimelineItem(presence.checked_out_at, "presence", f"{who} out"))
    for dose in DoseAdministration.objects.filter(session=session).select_related(
        "administered_by", "witnessed_by", "approved_by"
    ):
        approved = f"; approved by {dose.approved_by.printed_name}" if dose.approved_by else ""
        items.append(
            TimelineItem(
                dose.administered_at,
                "dose",
                f"{dose.get_kind_display()} dose {format(dose.amount.normalize(), 'f')} {dose.unit} "
                f"{dose.substance}, lot {dose.lot}; witnessed by {dose.witnessed_by.printed_name}{approved}",
                dose.administered_by.printed_name,
            )
        )
    sets: dict[datetime, list[Observation]] = {}
    for observation in Observation.objects.filter(session=session, entered_in_error=False).select_related(
        "entered_by"
    ):
        sets.setdefault(observation.observed_at, []).append(observation)
    for at, observations in sets.items():
        text = ", ".join(
            f"{LABELS[VitalSign(o.parameter)]} {format(o.value.normalize(), 'f')} {UNIT_WORDS.get(o.unit, o.unit)}".rstrip()
            for o in observations
        )
        notes = "; ".join(o.note for o in observations if o.note)
        first = observations[0]
        by = first.entered_by.printed_name if first.entered_by else "device"
        items.append(TimelineItem(at, "vitals", text + (f" — {notes}" if notes else ""), by))
    for alert in Alert.objects.filter(session=session).select_related("acknowledged_by", "resolved_by"):
        items.append(TimelineItem(alert.created_at, "alert", f"Alert ({alert.kind}): {alert.message}"))
        if alert.acknowledged_at and alert.acknowledged_by:
            note = f" — {alert.action_note}" if alert.action_note else ""
            items.append(
                TimelineItem(
                    alert.acknowledged_at,
                    "alert",
                    f"Acknowledged: {alert.get_action_display()}{note}",
                    alert.acknowledged_by.printed_name,
                )
            )
        if alert.resolved_at and alert.resolved_by:
            items.append(
                TimelineItem(alert.resolved_at, "alert", "Alert resolved", alert.resolved_by.printed_name)
            )
        if alert.escalated_at:
            items.append(TimelineItem(alert.escalated_at, "alert", "Escalated to the physician on call"))
    for emergency in Emergency.objects.filter(session=session).select_related("declared_by", "closed_by"):
        items.append(
            TimelineItem(
                emergency.declared_at,
                "emergency",
                "MEDICAL EMERGENCY declared",
                emergency.declared_by.printed_name,
            )
        )
        for event in emergency.events.select_related("by"):
            place = f" → {event.place}" if event.place else ""
            items.append(
                TimelineItem(
                    event.at,
                    "emergency",
                    f"{event.get_kind_display()}: {event.detail}{place}",
                    event.by.printed_name,
                )
            )
        if emergency.closed_at and emergency.closed_by:
            items.append(
                TimelineItem(
                    emergency.closed_at,
                    "emergency",
                    f"Emergency closed: {emergency.summary}",
                    emergency.closed_by.printed_name,
                )
            )
    for attestation in DischargeAttestation.objects.filter(session=session).select_related("therapist"):
        items.append(
            TimelineItem(
                attestation.created_at,
                "discharge",
                f"Discharge attested (alert and oriented; escort {attestation.escort_name or 'not required'})",
                attestation.therapist.printed_name,
            )
        )
    if session.discharged_at:
        stay = {True: "; stayed overnight", False: "; did not stay overnight", None: ""}[
            session.overnight_stay
        ]
        items.append(
            TimelineItem(
                session.discharged_at,
                "discharge",
                f"Discharged{stay}",
                session.discharged_by.printed_name if session.discharged_by else "",
            )
        )
    return sorted(items, key=lambda item: item.at)


def access_emergency(*, user: User, emergency_id: uuid.UUID | str) -> Emergency:
    emergency = (
        Emergency.objects.filter(
            public_id=parse_public_id(emergency_id), session__course__site__in=session_sites(user)
        )
        .select_related("session__course__site", "session__course__patient", "session__visit")
        .first()
    )
    if emergency is None:
        raise NotFound("Emergency not found.")
    return emergency
