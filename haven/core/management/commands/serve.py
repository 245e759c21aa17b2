"""``haven serve``: the ASGI web server (uvicorn), optionally with the background processes."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from types import FrameType
from typing import Any

import uvicorn
from django.core.management.base import BaseCommand, CommandParser
from uvicorn.supervisors import Multiprocess


class _Config(uvicorn.Config):
    """Uvicorn's configuration, with a listening socket that keeps TCP_NODELAY on its connections.

    With several workers, uvicorn binds the socket itself and leaves its protocol number at 0.
    Accepted connections inherit it, and asyncio turns Nagle's algorithm off only for sockets that
    say IPPROTO_TCP, so every keep-alive request after the first waits about 40 ms for the client's
    delayed ACK (uvicorn issue #3149, open as of 0.54). The same descriptor, declared TCP, fixes it.
    """

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
            sock.set_inheritable(True)
        return sock


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Uvicorn re-raises SIGTERM once it has shut down; its default action would end this process
    before the helpers are stopped, leaving them running. An exception unwinds to ``finally``."""
    raise SystemExit(128 + signum)


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
        parser.add_argument(
            "--with-demo-replay",
            action="store_true",
            help="Also start `haven replay-vitals`, which plays a bedside recording into the demo session.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Imported here so the safety check runs with settings configured.
        from haven.accounts.services import assert_safe_to_serve

        assert_safe_to_serve()
        helpers: list[subprocess.Popen[bytes]] = []
        if options["with_worker"]:
            for command in ("worker", "monitor"):
                helpers.append(subprocess.Popen([sys.executable, "-m", "haven.cli", command]))  # noqa: S603
        if options["with_demo_replay"]:
            # The replay posts over HTTP like a device; it waits until this server answers.
            host = options["host"]
            host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - not a bind
            host = f"[{host}]" if ":" in host else host
            url = f"http://{host}:{options['port']}"
            helpers.append(
                subprocess.Popen([sys.executable, "-m", "haven.cli", "replay-vitals", "--url", url])  # noqa: S603
            )
        self.stdout.write(
            f"Haven is serving on http://{options['host']}:{options['port']}/ (Ctrl-C stops it)"
        )
        signal.signal(signal.SIGTERM, _terminate)
        config = _Config(
            "haven.asgi:application",
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            lifespan="off",
            log_level="info",
            proxy_headers=True,
        )
        try:
            # What uvicorn.run does, with the listening socket fixed (see _Config).
            if config.workers > 1:
                Multiprocess(config, sockets=[config.bind_socket()]).run()
            else:
                uvicorn.Server(config).run()
        except KeyboardInterrupt:
            pass
        finally:
            for helper in helpers:
                if helper.poll() is None:
                    helper.send_signal(signal.SIGTERM)
            for helper in helpers:
                try:
                    helper.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    helper.kill()
