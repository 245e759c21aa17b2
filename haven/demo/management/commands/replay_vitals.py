"""``haven replay-vitals``: play the bundled bedside recording into the demo session over HTTP.

It behaves as a monitor at the bedside would: a device token of the session's site, one batch of
compact observations per recording row, stamped with the current time, sent to
``POST /api/v1/sessions/{id}/observations`` of the running server. Started by ``make run``
(``haven serve --with-demo-replay``) so that the board moves.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.error
import urllib.request
from itertools import count
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.core.errors import NotFound
from haven.core.ids import parse_public_id
from haven.core.time import now
from haven.demo.replay import RECORDING, batch_body, minute_of, read_recording, row_observations
from haven.demo.services import demo_session, replay_device_token
from haven.dosing.models import DosingSession

# Answers after which posting again cannot help: the session or the token is wrong.
FATAL = {401, 403, 404}


class ServerUnreachable(Exception):
    pass


def _call(url: str, *, body: object = None, token: str = "", timeout: float = 10.0) -> tuple[int, Any]:
    """One HTTP request; the status and the decoded JSON answer (None if it was not JSON)."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    method = "POST" if data else "GET"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise ServerUnreachable(str(getattr(error, "reason", error))) from None
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, None


class Command(BaseCommand):
    help = "Replay the bundled vital-sign recording into the demo session, as a bedside device would."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="The running Haven server.")
        parser.add_argument(
            "--interval", type=float, default=5.0, help="Seconds between recording rows (default 5)."
        )
        parser.add_argument("--session", default="", help="A session's public id (default: the demo's).")
        parser.add_argument(
            "--loops",
            type=int,
            default=0,
            help="Passes over the recording; 0 (default) repeats until stopped.",
        )
        parser.add_argument(
            "--wait", type=float, default=60.0, help="Seconds to wait for the server to answer (default 60)."
        )
        parser.add_argument(
            "--recording",
            type=Path,
            default=RECORDING,
            help="A recording in the same CSV layout (default: the bundled one).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        url = str(options["url"]).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise CommandError("--url: must start with http:// or https://")
        if options["interval"] < 0 or options["loops"] < 0:
            raise CommandError("--interval and --loops: must not be negative")
        session = self._session(options["session"])
        rows = read_recording(options["recording"])
        try:
            secret, created = replay_device_token(
                site=session.course.site, store=settings.DATA_DIR / "replay-vitals-token.json"
            )
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        self._say(
            f"{'created' if created else 'reusing'} the device token {secret[:12]}… of {session.course.site.name}"
        )

        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._wait_for(url, stop, options["wait"])
            self._replay(url, session, secret, rows, stop, options["interval"], options["loops"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self._say("stopped")

    def _session(self, wanted: str) -> DosingSession:
        if wanted:
            try:
                public_id = parse_public_id(wanted)
            except NotFound:
                raise CommandError(f"session {wanted} not found (not a session id)") from None
            session = DosingSession.objects.filter(public_id=public_id).select_related("course__site").first()
            if session is None:
                raise CommandError(f"session {wanted} not found")
            return session
        session = demo_session()
        if session is None:
            raise CommandError("the demo has no session under monitoring: run `haven demo` first")
        return session

    def _say(self, text: str) -> None:
        self.stdout.write(f"replay-vitals: {text}")
        self.stdout.flush()

    def _wait_for(self, url: str, stop: threading.Event, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            try:
                status, _ = _call(f"{url}/api/v1/health", timeout=2.0)
                if status == 200:
                    return
            except ServerUnreachable:
                pass
            if time.monotonic() >= deadline:
                raise CommandError(f"no answer from {url} after {seconds:g} s")
            stop.wait(0.5)

    def _replay(
        self,
        url: str,
        session: DosingSession,
        secret: str,
        rows: list[dict[str, str]],
        stop: threading.Event,
        interval: float,
        loops: int,
    ) -> None:
        endpoint = f"{url}/api/v1/sessions/{session.public_id}/observations"
        # A run id keeps device ids unique across restarts; a retry of one row reuses its ids.
        run = f"{time.time_ns() // 1_000_000:x}"
        self._say(f"{len(rows)} rows every {interval:g} s into session {session.public_id} at {url}")
        for loop in range(loops) if loops else count():
            for index, row in enumerate(rows):
                if stop.is_set():
                    return
                minute = minute_of(row, index)
                observations = row_observations(row, at=now(), id_prefix=f"replay-{run}-{loop}-{minute}")
                if observations:
                    self._post(endpoint, secret, observations, stop, f"pass {loop + 1}, minute {minute}")
                if stop.wait(interval):
                    return

    def _post(
        self,
        endpoint: str,
        secret: str,
        observations: list[dict[str, Any]],
        stop: threading.Event,
        where: str,
    ) -> None:
        """Post one row's batch; an unreachable server or a 5xx is retried with the same ids."""
        while not stop.is_set():
            try:
                status, answer = _call(endpoint, body=batch_body(observations), token=secret)
            except ServerUnreachable as error:
                self._say(f"{where}: server unreachable ({error}); retrying")
                stop.wait(2.0)
                continue
            message = answer.get("message", "") if isinstance(answer, dict) else ""
            if status in FATAL or (
                status == 422 and isinstance(answer, dict) and answer.get("code") == "session_closed"
            ):
                raise CommandError(f"the server refused the session ({status}): {message or 'no message'}")
            if status >= 500:
                self._say(f"{where}: server error {status}; retrying")
                stop.wait(2.0)
                continue
            if status != 200 or not isinstance(answer, dict):
                self._say(f"{where}: refused whole ({status}): {message}")
                return
            refused = answer.get("errors") or []
            why = f" ({refused[0].get('reason', '')})" if refused else ""
            self._say(
                f"{where}: stored {answer.get('stored', 0)}, refused {answer.get('refused', 0)}"
                f"{', already stored ' + str(answer['already_stored']) if answer.get('already_stored') else ''}{why}"
            )
            return
