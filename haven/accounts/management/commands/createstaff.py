"""``haven createstaff``: create a member of staff with roles at a site (from the command line)."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from haven.accounts.models import Role, Site
from haven.accounts.services import membership_grant, site_create, user_create
from haven.audit.context import Actor
from haven.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create a staff user with one or more roles at a site. The password is read from a prompt or stdin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", required=True, help="Printed name, as on signatures.")
        parser.add_argument("--site", required=True, help="Site name.")
        parser.add_argument(
            "--role", action="append", required=True, choices=Role.values, help="Repeat for several."
        )
        parser.add_argument(
            "--new-site-time-zone", help="Create the site with this IANA time zone if it is new."
        )
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read the password from standard input."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system(f"haven createstaff (operator {getpass.getuser()})")
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("password: the two entries differ")
        try:
            # One transaction: a refused user leaves no half-made site or roles behind.
            with transaction.atomic():
                site = Site.objects.filter(name__iexact=options["site"]).first()
                if site is None:
                    if not options["new_site_time_zone"]:
                        raise CommandError(
                            f"site: no site named {options['site']!r}; pass --new-site-time-zone to create it"
                        )
                    site = site_create(
                        actor=actor, name=options["site"], time_zone=options["new_site_time_zone"]
                    )
                user = user_create(
                    actor=actor,
                    username=options["username"],
                    email=options["email"],
                    printed_name=options["name"],
                    password=password,
                )
                for role in options["role"]:
                    membership_grant(actor=actor, site=site, user=user, role=role)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            self.style.SUCCESS(f"Created {user.username} ({', '.join(options['role'])}) at {site.name}.")
        )
