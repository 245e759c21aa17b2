"""Outcomes' part of ``haven monitor``: safety alerts left unacknowledged escalate to every physician
of the site, and patients are reminded of forms waiting for them (in the site's daytime only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from haven.accounts.models import Site
from haven.audit.context import Actor
from haven.audit.services import audit_update
from haven.core.time import local, now
from haven.dosing.services.oncall import notify, physicians_of
from haven.outcomes import services
from haven.outcomes.models import PortalLink, SafetyAlert, SafetyAlertStatus

MONITOR = Actor.system("haven monitor")
# Reminders go out only between these hours, the site's local time.
REMINDER_HOURS = range(9, 20)


@dataclass(frozen=True)
class OutcomesTick:
    escalated: int
    reminders: int


def outcomes_tick(moment: datetime | None = None) -> OutcomesTick:
    moment = moment or now()
    limit = timedelta(minutes=settings.HAVEN_SAFETY_ESCALATE_MINUTES)
    escalated = 0
    for alert in SafetyAlert.objects.filter(
        status=SafetyAlertStatus.OPEN, escalated_at__isnull=True, created_at__lte=moment - limit
    ).select_related("course__site", "course__patient"):
        with transaction.atomic():
            locked = SafetyAlert.objects.select_for_update().get(pk=alert.pk)
            if locked.escalated_at is not None:
                continue
            locked.escalated_at = moment
            locked.save(update_fields=["escalated_at", "updated_at"])
            site = alert.course.site
            audit_update(
                actor=MONITOR,
                instance=locked,
                changes={"escalated_at": {"old": None, "new": moment}},
                site_id=site.public_id,
                reason=f"unacknowledged for {settings.HAVEN_SAFETY_ESCALATE_MINUTES} minutes",
            )
            notify(
                actor=MONITOR,
                site=site,
                recipients=physicians_of(site),
                subject=f"Haven: UNACKNOWLEDGED safety alert for {alert.course.patient.study_id}",
                body=f"{alert.message}\nRaised {local(alert.created_at, site.time_zone):%Y-%m-%d %H:%M} and not yet acknowledged.",
                about=locked,
            )
        escalated += 1
    sites = {
        link.course.site_id: link.course.site
        for link in PortalLink.objects.filter(revoked_at__isnull=True, expires_at__gt=moment).select_related(
            "course__site"
        )
    }
    reminders = 0
    if any(_daytime(site, moment) for site in sites.values()):
        reminders = services.reminders_send(
            moment=moment, only_sites=[s for s in sites.values() if _daytime(s, moment)]
        )
    return OutcomesTick(escalated=escalated, reminders=reminders)


def _daytime(site: Site, moment: datetime) -> bool:
    return local(moment, site.time_zone).hour in REMINDER_HOURS
