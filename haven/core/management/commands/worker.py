"""``haven worker``: runs background tasks queued in the database (django-tasks-db)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the background task worker (stops cleanly on Ctrl-C or SIGTERM)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls when idle.")

    def handle(self, *args: Any, **options: Any) -> None:
        from haven.accounts.services import assert_safe_to_serve

        assert_safe_to_serve()
        call_command("db_worker", interval=options["interval"], verbosity=options["verbosity"])
