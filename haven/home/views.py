"""The home page after login: the user's sites, and what is waiting for them at each.

Each capability contributes its own waiting items here: overdue visits, visit notes to sign,
patients who must re-consent, credentials waiting for a site administrator's review, and the
user's own missing authenticator. Later capabilities add theirs (open alerts, SAE clocks, counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from haven.accounts import selectors, services
from haven.accounts.models import Role, Site, User
from haven.core.time import now
from haven.dosing.models import Alert, AlertStatus, Emergency, EmergencyStatus
from haven.dosing.selectors import SESSION_READ_ROLES
from haven.dosing.services import SESSION_ROLES
from haven.inventory import selectors as inventory_selectors
from haven.inventory.services import READ_ROLES as INVENTORY_READ_ROLES
from haven.inventory.services import WRITE_ROLES as INVENTORY_WRITE_ROLES
from haven.outcomes.models import SafetyAlert, SafetyAlertStatus
from haven.patients import selectors as patient_selectors
from haven.patients.roles import CONSENT_ROLES, NOTE_ROLES, READ_ROLES
from haven.safety import selectors as safety_selectors
from haven.safety.roles import MEDICAL_ROLES, RECORD_ROLES


@dataclass
class Waiting:
    text: str
    url: str


@dataclass
class SiteCard:
    site: Site
    roles: list[str]
    waiting: list[Waiting] = field(default_factory=list)
    sees_sessions: bool = False
    sees_inventory: bool = False


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _waiting_at(user: User, site: Site, roles: frozenset[Role]) -> list[Waiting]:
    waiting: list[Waiting] = []
    patients_url = reverse("patients:list", args=[site.public_id])
    if roles & READ_ROLES:
        overdue = patient_selectors.overdue_visits(
            site=site, today=now().astimezone(ZoneInfo(site.time_zone)).date()
        ).count()
        if overdue:
            waiting.append(
                Waiting(_count(overdue, "overdue visit", "overdue visits"), f"{patients_url}?overdue=1")
            )
    if roles & NOTE_ROLES:
        unsigned = patient_selectors.visits_awaiting_note(site=site).count()
        if unsigned:
            waiting.append(
                Waiting(_count(unsigned, "visit note to sign", "visit notes to sign"), patients_url)
            )
    if roles & CONSENT_ROLES:
        reconsent = len(patient_selectors.courses_needing_reconsent(site=site))
        if reconsent:
            waiting.append(
                Waiting(
                    _count(reconsent, "patient must re-consent", "patients must re-consent"), patients_url
                )
            )
    if roles & INVENTORY_WRITE_ROLES:
        ledger_url = reverse("inventory:page", args=[site.public_id])
        discrepancies = len(inventory_selectors.open_discrepancies(site))
        if discrepancies:
            waiting.append(
                Waiting(
                    _count(discrepancies, "count discrepancy to resolve", "count discrepancies to resolve"),
                    ledger_url,
                )
            )
        unreported = [
            r
            for r in inventory_selectors.loss_clocks(site)
            if r.notice_sent_at is None or r.form106_filed_at is None
        ]
        if unreported:
            waiting.append(
                Waiting(
                    _count(
                        len(unreported),
                        "loss or theft to report to the DEA",
                        "losses or thefts to report to the DEA",
                    ),
                    ledger_url,
                )
            )
    if roles & SESSION_ROLES:
        board_url = reverse("dosing:board", args=[site.public_id])
        emergencies = Emergency.objects.filter(
            session__course__site=site, status=EmergencyStatus.OPEN
        ).count()
        if emergencies:
            waiting.append(
                Waiting(_count(emergencies, "open MEDICAL EMERGENCY", "open MEDICAL EMERGENCIES"), board_url)
            )
        safety = SafetyAlert.objects.filter(course__site=site, status=SafetyAlertStatus.OPEN).count()
        if safety:
            waiting.append(
                Waiting(
                    _count(safety, "questionnaire safety alert", "questionnaire safety alerts"),
                    reverse("outcomes:site", args=[site.public_id]),
                )
            )
        alerts = Alert.objects.filter(session__course__site=site, status=AlertStatus.OPEN).count()
        if alerts:
            waiting.append(
                Waiting(
                    _count(alerts, "session alert to acknowledge", "session alerts to acknowledge"), board_url
                )
            )
    if roles & (MEDICAL_ROLES | RECORD_ROLES):
        clocks = safety_selectors.clocks_due(site=site, moment=now())
        if not roles & MEDICAL_ROLES:
            clocks = clocks.filter(event__reporter=user)
        due = clocks.count()
        if due:
            waiting.append(
                Waiting(
                    _count(due, "SAE report due or overdue", "SAE reports due or overdue"),
                    reverse("safety:site", args=[site.public_id]),
                )
            )
        drafts = safety_selectors.open_reviews(site=site).count()
        if drafts:
            waiting.append(
                Waiting(
                    _count(drafts, "safety event to review", "safety events to review"),
                    reverse("safety:site", args=[site.public_id]),
                )
            )
    if Role.SITE_ADMIN in roles:
        unreviewed = selectors.credentials_awaiting_review(site=site, reviewer=user)
        if unreviewed:
            noun = "credential" if len(unreviewed) == 1 else "credentials"
            waiting.append(
                Waiting(
                    f"{len(unreviewed)} staff {noun} to review",
                    reverse("accounts:site_detail", args=[site.public_id]),
                )
            )
    return waiting


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    cards = []
    for site in selectors.sites_for(user):
        roles = selectors.roles_for(user, site)
        cards.append(
            SiteCard(
                site=site,
                roles=sorted(r.label for r in roles),
                waiting=_waiting_at(user, site, roles),
                sees_sessions=bool(roles & SESSION_READ_ROLES),
                sees_inventory=bool(roles & INVENTORY_READ_ROLES),
            )
        )
    context = {
        "cards": cards,
        # Safety across sites, for whoever reads it at more than one.
        "safety_overview": sum(1 for card in cards if card.sees_sessions) > 1,
        "mfa_missing": services.mfa_required(user) and not services.mfa_enrolled(user),
    }
    return render(request, "home/index.html", context)
