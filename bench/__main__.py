"""``python -m bench``: run ``bench.worker`` and ``bench.ingest`` per database, then write and print
``bench/report.md``.

SQLite always runs, in a fresh temporary HAVEN_DATA_DIR for each module. When HAVEN_BENCH_POSTGRES
names a server (e.g. ``postgres://root@127.0.0.1:5432``), a throwaway database
``haven_bench_<pid>_<n>`` is created there for each module and dropped afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench import stats
from bench.report import load_average, markdown

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "report.md"


MODULES = ("bench.worker", "bench.ingest")
Result = dict[str, Any]


def _run_worker(module: str, *, extra_env: dict[str, str]) -> tuple[int, Result | None]:
    with tempfile.TemporaryDirectory(prefix="haven_bench_") as data_dir:
        env = {k: v for k, v in os.environ.items() if k != "HAVEN_DATABASE_URL"}
        env |= {"HAVEN_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "haven.settings"} | extra_env
        out = Path(data_dir) / "result.json"
        code = subprocess.call([sys.executable, "-m", module, str(out)], cwd=ROOT, env=env)  # noqa: S603
        return code, json.loads(out.read_text()) if out.exists() else None


def _run_postgres(module: str, *, server: str) -> tuple[int, Result | None]:
    server = server.rstrip("/")
    name = f"haven_bench_{os.getpid()}_{MODULES.index(module)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        return _run_worker(module, extra_env={"HAVEN_DATABASE_URL": f"{server}/{name}"})
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main() -> int:
    runs: list[tuple[str, Callable[[str], tuple[int, Result | None]]]] = [
        ("SQLite", partial(_run_worker, extra_env={}))
    ]
    server = os.environ.get("HAVEN_BENCH_POSTGRES", "").strip()
    if server:
        runs.append(("PostgreSQL", partial(_run_postgres, server=server)))
    databases: list[tuple[str, Result | None, Result | None]] = []
    load = load_average()
    failed = False
    for label, run in runs:
        results: list[Result | None] = []
        for module in MODULES:
            print(f"bench: {module} on {label}…", file=sys.stderr)
            code, result = run(module)
            failed |= code != 0
            if result is None:
                print(
                    f"FAIL: {module} on {label} ended with exit code {code} and no results", file=sys.stderr
                )
            results.append(result)
        databases.append((label, results[0], results[1]))
    print("bench: bench.stats (in-process)…", file=sys.stderr)
    report = markdown(databases, load=load) + "\n".join(["", *stats.section(stats.run())])
    REPORT.write_text(report)
    print(report)
    if failed:
        print("FAIL: see the errors above", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
