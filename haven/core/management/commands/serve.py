"""``haven serve``: the ASGI web server (uvicorn), optionally with the background processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

import uvicorn
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Serve Haven over HTTP with uvicorn (add --with-worker to run the worker and the monitor beside it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers", type=int, default=1, help="Web worker processes (production: several)."
        )
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="Also start `haven worker` and `haven monitor`; all stop together.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Imported here so the safety check runs with settings configured.
        from haven.accounts.services import assert_safe_to_serve

        assert_safe_to_serve()
        helpers: list[subprocess.Popen[bytes]] = []
        if options["with_worker"]:
            for command in ("worker", "monitor"):
                helpers.append(subprocess.Popen([sys.executable, "-m", "haven.cli", command]))  # noqa: S603
        self.stdout.write(
            f"Haven is serving on http://{options['host']}:{options['port']}/ (Ctrl-C stops it)"
        )
        try:
            uvicorn.run(
                "haven.asgi:application",
                host=options["host"],
                port=options["port"],
                workers=options["workers"],
                lifespan="off",
                log_level="info",
                proxy_headers=True,
            )
        finally:
            for helper in helpers:
                if helper.poll() is None:
                    helper.send_signal(signal.SIGTERM)
            for helper in helpers:
                try:
                    helper.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    helper.kill()
