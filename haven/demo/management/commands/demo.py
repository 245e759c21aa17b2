"""``haven demo``: load the demo site (idempotent) and print its logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from haven.demo.services import DEMO_PASSWORD, demo_load, demo_session


class Command(BaseCommand):
    help = "Load the demo site with synthetic staff in every role (idempotent) and print the logins."

    def handle(self, *args: Any, **options: Any) -> None:
        users = demo_load()
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        for user in users:
            roles = ", ".join(r.label for r in user.roles)
            self.stdout.write(f"  {user.username:<12} {user.printed_name:<22} {roles} — {user.site[0]}")
        session = demo_session()
        if session is not None and session.first_dose_at is not None:
            self.stdout.write(
                f"Under monitoring: {session.course.patient.study_id}, dosed at "
                f"{session.first_dose_at:%Y-%m-%d %H:%M} UTC (`haven replay-vitals` plays a bedside recording into it)"
            )
