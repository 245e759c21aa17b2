"""The home page after login: the user's sites, and what is waiting for them at each.

Each capability contributes its own waiting items here (later: visits due today, open alerts,
forms to review, SAE clocks, counts due). Today: credentials waiting for a site administrator's
review, and the user's own missing authenticator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from haven.accounts import selectors, services
from haven.accounts.models import Role, Site, User


@dataclass
class Waiting:
    text: str
    url: str


@dataclass
class SiteCard:
    site: Site
    roles: list[str]
    waiting: list[Waiting] = field(default_factory=list)


def _waiting_at(user: User, site: Site, roles: frozenset[Role]) -> list[Waiting]:
    waiting: list[Waiting] = []
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
            SiteCard(site=site, roles=sorted(r.label for r in roles), waiting=_waiting_at(user, site, roles))
        )
    context = {
        "cards": cards,
        "mfa_missing": services.mfa_required(user) and not services.mfa_enrolled(user),
    }
    return render(request, "home/index.html", context)
