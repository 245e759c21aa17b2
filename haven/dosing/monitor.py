"""The session monitor: what no one typed but someone must hear about.

``monitor_tick`` runs every few seconds (``haven monitor``, started by ``make run``). For each
session under monitoring it raises an alert for each scheduled measurement that is overdue, and
escalates every alert left unacknowledged for the protocol's ``escalate_after_minutes`` to the
physicians on call (``services.oncall``): a notification record for each, and an e-mail through Django's e-mail backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from haven.audit.context import Actor
from haven.audit.services import audit_create, audit_update
from haven.core.time import now
from haven.dosing.models import Alert, AlertStatus, DosingSession, Observation, SessionStatus
from haven.dosing.services.oncall import notify, on_call_physicians
from haven.dosing.services.session import announce_alert
from haven.dosing.vitals import AlertKind, DueStatus, schedule
from haven.protocols.selectors import protocol_of

MONITOR = Actor.system("haven monitor")


@dataclass(frozen=True)
class TickResult:
    overdue_alerts: int
    escalated: int


def monitor_tick() -> TickResult:
    """One round over the sessions under monitoring, at the current time."""
    moment = now()
    overdue = escalated = 0
    sessions = DosingSession.objects.filter(status=SessionStatus.DOSED).select_related(
        "course__site", "course__patient", "course__protocol_version", "visit"
    )
    for session in sessions:
        monitoring = protocol_of(session.course.protocol_version).monitoring
        if monitoring is None or session.first_dose_at is None:
            continue
        measured = list(
            Observation.objects.filter(session=session, entered_in_error=False).values_list(
                "observed_at", flat=True
            )
        )
        raised = set(
            Alert.objects.filter(session=session, kind=AlertKind.OVERDUE.value).values_list(
                "schedule_minute", flat=True
            )
        )
        for due in schedule(monitoring, dose_at=session.first_dose_at, measured=measured, now=moment):
            if due.status == DueStatus.OVERDUE and due.minute not in raised:
                with transaction.atomic():
                    alert = Alert.objects.create(
                        session=session,
                        kind=AlertKind.OVERDUE.value,
                        message=f"The {due.minute}-minute vital signs are overdue (due {due.due_at:%H:%M} UTC)",
                        schedule_minute=due.minute,
                    )
                    audit_create(
                        actor=MONITOR,
                        instance=alert,
                        fields=("kind", "message"),
                        site_id=session.course.site.public_id,
                    )
                    announce_alert(alert, session)
                overdue += 1
        limit = timedelta(minutes=monitoring.escalate_after_minutes)
        stale = Alert.objects.filter(
            session=session,
            status=AlertStatus.OPEN,
            escalated_at__isnull=True,
            created_at__lte=moment - limit,
        )
        for alert in stale:
            _escalate(session, alert, moment)
            escalated += 1
    return TickResult(overdue_alerts=overdue, escalated=escalated)


def _escalate(session: DosingSession, alert: Alert, moment: datetime) -> None:
    site = session.course.site
    subject = f"Haven: unacknowledged alert for {session.course.patient.study_id}"
    body = (
        f"{alert.message}\n\nSession {session.visit.name} of {session.course.patient.study_id} at "
        f"{site.name}. Raised {alert.created_at:%H:%M} UTC and not acknowledged."
    )
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.escalated_at is not None:
            return
        alert.escalated_at = moment
        alert.save(update_fields=["escalated_at", "updated_at"])
        audit_update(
            actor=MONITOR,
            instance=alert,
            changes={"escalated_at": {"old": None, "new": moment}},
            site_id=site.public_id,
            reason="unacknowledged past the protocol's escalation time",
        )
        # Sent inside the transaction on purpose: a failure leaves the alert un-escalated, so the
        # next tick tries again rather than believing someone was told.
        notify(
            actor=MONITOR,
            site=site,
            recipients=on_call_physicians(site, moment),
            subject=subject,
            body=body,
            alert=alert,
        )
        announce_alert(alert, session)
