"""The session room over HTTP: device ingest, the last-200 read, alert-to-board latency, memory.

Usage (by ``bench.__main__``): ``python -m bench.ingest OUT.json`` with HAVEN_DATA_DIR and, for
PostgreSQL, HAVEN_DATABASE_URL already set. It loads the demo site (through the services: a site,
the shipped protocols, an enrolled course and a session after its witnessed initial dose, so alerts
are judged against a pre-dose baseline), creates a device token and a user token, starts
``haven serve`` on a free loopback port and drives it with ``bench.http``. Exits 1 if the server
does not start or a request fails; a missing board stream (404) is reported, not a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.http import Connection, ServerEvent, stream

HOST = "127.0.0.1"
WARM_UP = 50
SINGLE = {1: 300, 8: 1500, 32: 1500}  # requests per concurrency level
BATCH_SIZE = 100
BATCHES = {1: 20, 4: 40}
READS = 300
ALERT_SAMPLES = 60
PHASE_SECONDS = 15.0  # a phase stops early when it runs this long, so a slow machine stays in bounds
SERVICE_CALLS = 300

Row = dict[str, Any]


@dataclass(frozen=True)
class Setup:
    session: str
    site: str
    device_secret: str
    user_secret: str


def _quantiles(latencies: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    if len(latencies) < 2:
        value = latencies[0] * 1000 if latencies else 0.0
        return value, value
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def _row(key: str, name: str, count: int, seconds: float, latencies: list[float], items: int = 1) -> Row:
    """One measurement; ``key`` names it for the targets, ``items`` counts observations per request."""
    p50, p99 = _quantiles(latencies)
    return {
        "key": key,
        "name": name,
        "count": count,
        "seconds": seconds,
        "per_second": count * items / seconds if seconds else 0.0,
        "p50_ms": p50,
        "p99_ms": p99,
    }


# Set-up, in this process, through the services ---------------------------------------------------
def _set_up() -> tuple[Setup, Row, int]:
    """The data, the tokens, the in-process floor and the number of queries one ingest makes."""
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from haven.accounts.actors import user_actor
    from haven.accounts.models import TokenKind, User
    from haven.accounts.services import token_create
    from haven.demo.services import demo_load, demo_session
    from haven.dosing import services
    from haven.dosing.ingest import parse_observations
    from haven.dosing.models import Observation

    call_command("migrate", verbosity=0)
    demo_load()
    session = demo_session()
    if session is None:
        raise RuntimeError("the demo made no session under monitoring")
    site = session.course.site
    admin, lead = User.objects.get(username="admin"), User.objects.get(username="lead")
    device = token_create(actor=user_actor(admin), kind=TokenKind.DEVICE, name="bench device", site=site)
    reader = token_create(actor=user_actor(lead), kind=TokenKind.USER, name="bench reader")

    # The floor under the HTTP figures: the ingest service called directly, one observation each.
    actor = user_actor(lead)
    latencies: list[float] = []
    start = time.perf_counter()
    for i in range(SERVICE_CALLS):
        item = {"id": f"direct-{i}", "at": datetime.now(UTC).isoformat(), "parameter": "heart_rate"}
        result = parse_observations(item | {"value": 70 + i % 20, "unit": "/min"}, now=datetime.now(UTC))
        t0 = time.perf_counter()
        services.observations_ingest(actor=actor, session=session, result=result)
        latencies.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - start
    item = {"id": "counted", "at": datetime.now(UTC).isoformat(), "parameter": "heart_rate"}
    result = parse_observations(item | {"value": 70, "unit": "/min"}, now=datetime.now(UTC))
    with CaptureQueriesContext(connection) as queries:
        services.observations_ingest(actor=actor, session=session, result=result)
    if Observation.objects.filter(session=session, device_observation_id__startswith="direct-").count() != (
        SERVICE_CALLS
    ):
        raise RuntimeError("observations_ingest did not store every observation")
    floor = _row(
        "service",
        "observations_ingest in-process (no HTTP), 1 observation",
        SERVICE_CALLS,
        seconds,
        latencies,
    )
    setup = Setup(str(session.public_id), str(site.public_id), device.secret, reader.secret)
    connection.close()
    return setup, floor, len(queries.captured_queries)


def _read_query_row(session_id: str) -> Row:
    """The last-200 read's database part alone: the selector, in-process, no serialisation."""
    from haven.dosing.models import DosingSession
    from haven.dosing.selectors import recent_observations

    session = DosingSession.objects.get(public_id=session_id)
    latencies: list[float] = []
    start = time.perf_counter()
    for _ in range(50):
        t0 = time.perf_counter()
        recent_observations(session, limit=200)
        latencies.append(time.perf_counter() - t0)
    name = "recent_observations in-process (no HTTP, no JSON), the last 200"
    return _row("read_query", name, 50, time.perf_counter() - start, latencies)


def _connect_ms() -> float | None:
    """What opening a database connection costs (PostgreSQL: Haven opens one per request)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    start = time.perf_counter()
    for _ in range(20):
        connection.connect()
        connection.close()
    return (time.perf_counter() - start) / 20 * 1000


def _last_200_plan(session_id: str) -> str:
    """How the database answers the last-200 read, now that the session holds thousands of rows."""
    from haven.dosing.models import DosingSession, Observation

    session = DosingSession.objects.get(public_id=session_id)
    query = Observation.objects.filter(session=session, entered_in_error=False).order_by(
        "-observed_at", "-pk"
    )
    return query[:200].explain()


# The server ------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _start_server(port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "haven.cli", "serve", "--host", HOST, "--port", str(port)]
    command += ["--workers", str(workers)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection((HOST, port), timeout=1) as sock:
                sock.sendall(
                    f"GET /api/v1/health HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
                )
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not answer within 60 s")


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _memory_mb(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM (the peak) of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def _worker_pids(server: subprocess.Popen[bytes], workers: int) -> list[int]:
    """With one worker, uvicorn serves in the process it was started in; with more, in its spawned
    children (the supervisor and multiprocessing's resource tracker serve nothing)."""
    if workers == 1:
        return [server.pid]
    return [pid for pid in _children(server.pid) if "spawn_main" in _cmdline(pid)]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# Load ------------------------------------------------------------------------------------------
class Failed(Exception):
    pass


async def _run(
    concurrency: int,
    count: int,
    connections: list[Connection],
    request: Callable[[Connection, int], Awaitable[None]],
) -> tuple[int, float, list[float]]:
    """``count`` requests from ``concurrency`` callers, each on its own connection; stops early
    after PHASE_SECONDS. Returns the number done, the seconds taken and each latency."""
    latencies: list[float] = []
    next_index = 0
    start = time.perf_counter()
    deadline = start + PHASE_SECONDS

    async def caller(connection: Connection) -> None:
        nonlocal next_index
        while next_index < count and time.perf_counter() < deadline:
            index = next_index
            next_index += 1
            t0 = time.perf_counter()
            await asyncio.wait_for(request(connection, index), 30)
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(caller(connections[i]) for i in range(concurrency)))
    return len(latencies), time.perf_counter() - start, latencies


def _observation(key: str, i: int) -> dict[str, Any]:
    """An unremarkable reading (inside every limit), so that no alert is raised."""
    parameter, unit, value = (
        ("heart_rate", "/min", 62 + i % 30),
        ("spo2", "%", 95 + i % 5),
        ("respiratory_rate", "/min", 12 + i % 6),
    )[i % 3]
    return {
        "id": f"{key}-{i}",
        "at": datetime.now(UTC).isoformat(),
        "parameter": parameter,
        "value": value,
        "unit": unit,
    }


async def _measure(port: int, setup: Setup) -> tuple[list[Row], Row | None, str]:
    device = {"Authorization": f"Bearer {setup.device_secret}"}
    user = {"Authorization": f"Bearer {setup.user_secret}"}
    ingest = f"/api/v1/sessions/{setup.session}/observations"
    rows: list[Row] = []
    pool = [Connection(HOST, port, device) for _ in range(max(SINGLE))]

    def post_one(key: str) -> Callable[[Connection, int], Awaitable[None]]:
        async def request(connection: Connection, i: int) -> None:
            answer = await connection.request("POST", ingest, json.dumps(_observation(key, i)).encode())
            if answer.status != 200 or answer.json()["stored"] != 1:
                raise Failed(f"POST {ingest}: {answer.status} {answer.body[:300]!r}")

        return request

    await _run(8, WARM_UP, pool, post_one("warm"))
    for concurrency, count in SINGLE.items():
        done, seconds, latencies = await _run(concurrency, count, pool, post_one(f"single{concurrency}"))
        name = f"POST 1 observation, concurrency {concurrency}"
        rows.append(_row(f"single_c{concurrency}", name, done, seconds, latencies))

    def post_batch(key: str) -> Callable[[Connection, int], Awaitable[None]]:
        async def request(connection: Connection, i: int) -> None:
            batch = [_observation(f"{key}-{i}", j) for j in range(BATCH_SIZE)]
            answer = await connection.request("POST", ingest, json.dumps({"observations": batch}).encode())
            if answer.status != 200 or answer.json()["stored"] != BATCH_SIZE:
                raise Failed(f"POST {ingest} (batch): {answer.status} {answer.body[:300]!r}")

        return request

    for concurrency, count in BATCHES.items():
        done, seconds, latencies = await _run(concurrency, count, pool, post_batch(f"batch{concurrency}"))
        rows.append(
            _row(
                f"batch_c{concurrency}",
                f"POST batches of {BATCH_SIZE}, concurrency {concurrency} (per batch; rate in observations)",
                done,
                seconds,
                latencies,
                items=BATCH_SIZE,
            )
        )
    for connection in pool:
        await connection.close()

    readers = [Connection(HOST, port, user)]

    async def read_last(connection: Connection, i: int) -> None:
        answer = await connection.request("GET", ingest)
        if answer.status != 200 or len(answer.json()) != 200:
            raise Failed(f"GET {ingest}: {answer.status} {answer.body[:300]!r}")

    await _run(1, 20, readers, read_last)
    done, seconds, latencies = await _run(1, READS, readers, read_last)
    rows.append(_row("read", "GET the session's last 200 observations", done, seconds, latencies))
    await readers[0].close()

    alert, note = await _alert_latency(port, setup, device, user, ingest)
    return rows, alert, note


async def _alert_latency(
    port: int, setup: Setup, device: dict[str, str], user: dict[str, str], ingest: str
) -> tuple[Row | None, str]:
    """POST an out-of-range heart rate, time until its alert arrives on an open board stream."""
    path = f"/sites/{setup.site}/board/events"
    status, events, writer = await stream(HOST, port, path, user)
    if events is None:
        writer.close()
        if status == 404:
            return None, f"board stream not available (GET {path} answered 404)"
        raise Failed(f"GET {path}: {status}")
    received: asyncio.Queue[ServerEvent] = asyncio.Queue()
    first = asyncio.Event()

    async def listen() -> None:
        async for event in events:
            first.set()
            if event.event == "alert":
                received.put_nowait(event)

    listener = asyncio.create_task(listen())
    poster = Connection(HOST, port, device)
    latencies: list[float] = []
    try:
        await asyncio.wait_for(first.wait(), 10)  # the greeting: the stream is subscribed
        start = time.perf_counter()
        for i in range(ALERT_SAMPLES):
            # The protocol's heart-rate limit is 130 /min; each sample's value is unique in a row.
            value = 150 + i % 90
            body = {
                "id": f"alert-{i}",
                "at": datetime.now(UTC).isoformat(),
                "parameter": "heart_rate",
                "value": value,
                "unit": "/min",
            }
            t0 = time.perf_counter()
            answer = await poster.request("POST", ingest, json.dumps(body).encode())
            if answer.status != 200 or answer.json()["stored"] != 1:
                raise Failed(f"POST {ingest} (alert): {answer.status} {answer.body[:300]!r}")
            while True:
                event = await asyncio.wait_for(received.get(), 10)
                data = json.loads(event.data)
                if data.get("session") == setup.session and f"Heart rate {value} /min" in data.get(
                    "message", ""
                ):
                    latencies.append(event.received - t0)
                    break
        seconds = time.perf_counter() - start
    except TimeoutError:
        raise Failed(f"no alert arrived on {path} within 10 s of its POST") from None
    finally:
        listener.cancel()
        writer.close()
        await poster.close()
    return _row(
        "alert",
        "POST out-of-range value → alert on the open board stream",
        len(latencies),
        seconds,
        latencies,
    ), ""


def main(out: Path) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven.settings")
    import django

    django.setup()
    from django.db import connection

    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        cursor.execute("select sqlite_version()" if sqlite else "show server_version")
        version = cursor.fetchone()[0]
    database = f"{'SQLite' if sqlite else 'PostgreSQL'} {version}"
    # SQLite has one writer at a time and no channel between processes: one web process.
    workers = 1 if sqlite else 2
    setup, floor, ingest_queries = _set_up()
    port = _free_port()
    log = Path(os.environ["HAVEN_DATA_DIR"]) / "server.log"
    server = _start_server(port, workers, log)
    failure = ""
    rows: list[Row] = []
    alert: Row | None = None
    note = ""
    memory: list[tuple[int, float, float]] = []
    try:
        rows, alert, note = asyncio.run(_measure(port, setup))
    except (Failed, OSError, TimeoutError) as exc:
        failure = f"{type(exc).__name__}: {exc}"
    finally:
        memory = [(pid, *_memory_mb(pid)) for pid in _worker_pids(server, workers)]
        _stop_server(server)
    from haven.dosing.models import Observation

    stored = Observation.objects.count()
    plan = _last_200_plan(setup.session)
    connect_ms = _connect_ms()
    read_query = _read_query_row(setup.session)
    connection.close()
    result = {
        "database": database,
        "workers": workers,
        "rows": [floor, *rows, read_query],
        "alert": alert,
        "alert_note": note,
        "memory": [{"pid": pid, "rss_mb": rss, "peak_mb": peak} for pid, rss, peak in memory],
        "observations_stored": stored,
        "ingest_queries": ingest_queries,
        "connect_ms": connect_ms,
        "last_200_plan": plan,
        # Whether the database sorts the session's rows to find the newest 200 (no index serves it).
        "last_200_sorts": "TEMP B-TREE" in plan or "Sort" in plan,
        "failure": failure,
    }
    out.write_text(json.dumps(result, indent=2))
    if failure:
        print(f"FAIL ({database}): {failure}", file=sys.stderr)
        print(log.read_text()[-3000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
