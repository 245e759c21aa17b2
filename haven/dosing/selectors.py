"""Reads for dosing sessions, through the access layer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from haven.accounts.models import Site, User
from haven.core.errors import NotFound
from haven.core.ids import parse_public_id
from haven.core.time import now
from haven.dosing.models import (
    Alert,
    ChecklistAnswer,
    DoseAdministration,
    DosingSession,
    Observation,
    Presence,
)
from haven.dosing.vitals import Due
from haven.dosing.vitals import schedule as due_schedule
from haven.patients.selectors import readable_sites
from haven.protocols.selectors import protocol_of


def access_session(*, user: User, session_id: uuid.UUID | str) -> DosingSession:
    session = (
        DosingSession.objects.filter(
            public_id=parse_public_id(session_id), course__site__in=readable_sites(user)
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
            public_id=parse_public_id(alert_id), session__course__site__in=readable_sites(user)
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
