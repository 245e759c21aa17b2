"""One benchmark run against the database the environment names; writes its results as JSON.

Usage (by ``bench.__main__``): ``python -m bench.worker OUT.json`` with HAVEN_DATA_DIR and, for
PostgreSQL, HAVEN_DATABASE_URL already set. Exits 1 after printing FAIL if the chain is broken.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SINGLE_WRITES = 2000
THREADS = 4
WRITES_PER_THREAD = 500
TOKEN_LOOKUPS = 2000

Row = dict[str, Any]


def _row(name: str, count: int, seconds: float, latencies: list[float] | None = None) -> Row:
    row: Row = {"name": name, "count": count, "seconds": seconds, "ops": count / seconds if seconds else 0.0}
    if latencies and len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        row["p50_ms"], row["p95_ms"] = cuts[49] * 1000, cuts[94] * 1000
    return row


def _timed(op: Callable[[int], object], count: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    start = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        op(i)
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - start, latencies


def main(out: Path) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from haven.accounts.services import token_authenticate, token_create, user_create
    from haven.audit.context import Actor
    from haven.audit.errors import ChainBroken
    from haven.audit.models import AuditAction, AuditEntry
    from haven.audit.services import audit_record, audit_verify

    call_command("migrate", verbosity=0)
    system = Actor.system("bench")

    def append(i: int) -> None:
        with transaction.atomic():
            audit_record(actor=system, action=AuditAction.VIEW, record_type="bench.item", record_id=str(i))

    rows: list[Row] = []
    # 1. Single writer.
    seconds, latencies = _timed(append, SINGLE_WRITES)
    rows.append(_row("audit_record, 1 writer", SINGLE_WRITES, seconds, latencies))

    # 2. Concurrent writers, each thread on its own connection.
    before = AuditEntry.objects.count()
    thread_latencies: list[list[float]] = [[] for _ in range(THREADS)]
    errors: list[str] = []

    def writer(n: int) -> None:
        try:
            _, thread_latencies[n] = _timed(append, WRITES_PER_THREAD)
        except Exception as exc:
            errors.append(f"thread {n}: {type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    merged = [latency for per_thread in thread_latencies for latency in per_thread]
    rows.append(_row(f"audit_record, {THREADS} writer threads", len(merged), seconds, merged))

    # The correctness check: seq 1..N, unique, every hash links, head matches.
    problems = list(errors)
    expected = before + THREADS * WRITES_PER_THREAD
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    if seqs != list(range(1, expected + 1)):
        problems.append(f"expected seq 1..{expected}, found {len(seqs)} entries ({len(set(seqs))} distinct)")
    try:
        audit_verify()
    except ChainBroken as exc:
        problems.append(f"audit_verify: {exc}")
    chain_ok = not problems

    # 3. Verify the whole chain.
    start = time.perf_counter()
    result = audit_verify()
    rows.append(_row("audit_verify (entries)", result.checked, time.perf_counter() - start))

    # 4. Token lookups.
    password = secrets.token_urlsafe(24)
    user = user_create(
        actor=system, username="bench", email="bench@example.test", printed_name="Bench", password=password
    )
    issued = token_create(actor=Actor(user=user, printed_name="Bench"), kind="user", name="bench")
    secret: str = issued.secret

    def lookup(_: int) -> None:
        if token_authenticate(secret=secret) is None:
            raise RuntimeError("token_authenticate rejected a live token")

    seconds, latencies = _timed(lookup, TOKEN_LOOKUPS)
    rows.append(_row("token_authenticate", TOKEN_LOOKUPS, seconds, latencies))

    with connection.cursor() as cursor:
        cursor.execute("select sqlite_version()" if connection.vendor == "sqlite" else "show server_version")
        version = cursor.fetchone()[0]
    database = f"{'SQLite' if connection.vendor == 'sqlite' else 'PostgreSQL'} {version}"
    report = {"database": database, "rows": rows, "chain_ok": chain_ok, "problems": problems}
    out.write_text(json.dumps(report, indent=2))
    connection.close()
    if not chain_ok:
        print(f"FAIL ({database}): chain broken after concurrent writes", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
