"""The demo site: synthetic staff in every role, for trying Haven on one machine.

Idempotent: running it again adds only what is missing. Demo accounts are flagged ``is_demo``;
they may skip the second factor outside production, and production refuses to start while any
exist. Every name here is invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from haven.accounts.models import CredentialKind, Role, Site, SiteMembership, StaffCredential, User
from haven.accounts.services import credential_create, membership_grant, site_create, user_create
from haven.audit.context import Actor
from haven.protocols.loader import shipped_protocol_files
from haven.protocols.services import protocol_load

DEMO_PASSWORD = "haven-demo-password"  # noqa: S105 - published on purpose; demo installs only
DEMO_SITE = ("Haven Demo Clinic", "America/Chicago")
OTHER_SITE = ("Northfield Research Unit", "Europe/London")


@dataclass(frozen=True)
class DemoUser:
    username: str
    printed_name: str
    roles: tuple[Role, ...]
    site: tuple[str, str] = DEMO_SITE


DEMO_USERS = (
    DemoUser("admin", "Morgan Reyes", (Role.SITE_ADMIN, Role.COORDINATOR)),
    DemoUser("lead", "Dr Alice Adams", (Role.THERAPIST,)),
    DemoUser("cotherapist", "Ben Okafor", (Role.THERAPIST,)),
    DemoUser("physician", "Dr Priya Natarajan", (Role.PHYSICIAN,)),
    DemoUser("coordinator", "Carmen Liu", (Role.COORDINATOR,)),
    DemoUser("pharmacist", "Pat Kowalski", (Role.PHARMACIST,)),
    DemoUser("rater", "Riley Brennan", (Role.BLINDED_RATER,)),
    DemoUser("datamanager", "Dana Whitfield", (Role.DATA_MANAGER,)),
    DemoUser("monitor", "Sam Osei", (Role.SPONSOR_MONITOR,)),
    DemoUser("auditor", "Avery Holm", (Role.AUDITOR,)),
    DemoUser("northfield", "Noor Haddad", (Role.THERAPIST, Role.SITE_ADMIN), OTHER_SITE),
)


def demo_load() -> list[DemoUser]:
    if settings.PRODUCTION:
        raise ImproperlyConfigured("haven demo: refused when HAVEN_ENV=production")
    actor = Actor.system("haven demo")
    with transaction.atomic():
        sites: dict[str, Site] = {}
        for name, time_zone in (DEMO_SITE, OTHER_SITE):
            sites[name] = Site.objects.filter(name=name).first() or site_create(
                actor=actor, name=name, time_zone=time_zone
            )
        for demo in DEMO_USERS:
            user = User.objects.filter(username=demo.username).first()
            if user is None:
                user = user_create(
                    actor=actor,
                    username=demo.username,
                    email=f"{demo.username}@demo.haven.invalid",
                    printed_name=demo.printed_name,
                    password=DEMO_PASSWORD,
                    is_demo=True,
                )
            site = sites[demo.site[0]]
            for role in demo.roles:
                if not SiteMembership.objects.filter(user=user, site=site, role=role).exists():
                    membership_grant(actor=actor, site=site, user=user, role=role)
            if (
                Role.THERAPIST in demo.roles
                and not StaffCredential.objects.filter(user=user, site=site).exists()
            ):
                credential_create(
                    actor=Actor(user=user, printed_name=user.printed_name),
                    site=site,
                    holder=user,
                    kind=CredentialKind.LICENCE,
                    title="Licensed clinical psychologist",
                    identifier=f"PSY-{10000 + user.pk}",
                    issuer="State Board of Psychology (demo)",
                    valid_from=date(2024, 1, 1),
                    valid_until=date(2027, 12, 31),
                )
        for path in shipped_protocol_files():
            protocol_load(actor=actor, text=path.read_text(encoding="utf-8"), source=path.name)
    return list(DEMO_USERS)
