"""``haven monitor``: raise overdue-measurement alerts and escalate unacknowledged ones, every few seconds."""

from __future__ import annotations

import signal
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from haven.dosing.monitor import monitor_tick
from haven.outcomes.monitor import outcomes_tick
from haven.safety.services import safety_tick


class Command(BaseCommand):
    help = (
        "Watch the sessions under monitoring (overdue vital signs, unacknowledged alerts), escalate "
        "unacknowledged safety alerts and send portal reminders (Ctrl-C stops)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=15.0, help="Seconds between checks.")
        parser.add_argument("--once", action="store_true", help="Check once and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        from haven.accounts.services import assert_safe_to_serve

        assert_safe_to_serve()
        # Stop cleanly on SIGTERM (as `haven serve` and systemd send it) as on Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            result = monitor_tick()
            if result.overdue_alerts or result.escalated:
                self.stdout.write(
                    f"{result.overdue_alerts} overdue alert(s), {result.escalated} escalation(s)"
                )
            outcomes = outcomes_tick()
            if outcomes.escalated or outcomes.reminders:
                self.stdout.write(
                    f"{outcomes.escalated} safety escalation(s), {outcomes.reminders} portal reminder(s)"
                )
            safety = safety_tick()
            if safety.escalated or safety.drafted or safety.reminded:
                self.stdout.write(
                    f"{safety.reminded} SAE report(s) due soon, {safety.escalated} SAE clock escalation(s), "
                    f"{safety.drafted} safety event(s) drafted"
                )
            if options["once"]:
                return
            time.sleep(options["interval"])
