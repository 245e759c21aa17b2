"""``python -m bench``: run ``bench.worker`` per database, then write and print ``bench/report.md``.

SQLite always runs, in a fresh temporary HAVEN_DATA_DIR. When HAVEN_BENCH_POSTGRES names a server
(e.g. ``postgres://root@127.0.0.1:5432``), a throwaway database ``haven_bench_<pid>`` is created
there for the run and dropped afterwards.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "report.md"


def _run_worker(extra_env: dict[str, str]) -> tuple[int, dict[str, Any] | None]:
    with tempfile.TemporaryDirectory(prefix="haven_bench_") as data_dir:
        env = {k: v for k, v in os.environ.items() if k != "HAVEN_DATABASE_URL"}
        env |= {"HAVEN_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "haven.settings"} | extra_env
        out = Path(data_dir) / "result.json"
        code = subprocess.call([sys.executable, "-m", "bench.worker", str(out)], cwd=ROOT, env=env)  # noqa: S603
        return code, json.loads(out.read_text()) if out.exists() else None


def _run_postgres(server: str) -> tuple[int, dict[str, Any] | None]:
    server = server.rstrip("/")
    name = f"haven_bench_{os.getpid()}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        return _run_worker({"HAVEN_DATABASE_URL": f"{server}/{name}"})
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _cell(row: dict[str, Any], key: str, fmt: str) -> str:
    return format(row[key], fmt) if key in row else "-"


def _markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "# Haven benchmarks",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        f"- Python: {platform.python_version()} ({platform.platform()})",
        f"- Machine cores: {os.cpu_count()}",
        "",
    ]
    for result in results:
        chain = "intact" if result["chain_ok"] else "BROKEN: " + "; ".join(result["problems"])
        lines += [
            f"## {result['database']}",
            "",
            f"Chain after concurrent writes: {chain}",
            "",
            "| Benchmark | Count | Seconds | Ops/s | p50 ms | p95 ms |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {row['name']} | {row['count']} | {row['seconds']:.3f} | {row['ops']:,.0f} "
            f"| {_cell(row, 'p50_ms', '.3f')} | {_cell(row, 'p95_ms', '.3f')} |"
            for row in result["rows"]
        ]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    runs: list[tuple[str, Callable[[], tuple[int, dict[str, Any] | None]]]] = [
        ("SQLite", partial(_run_worker, {}))
    ]
    server = os.environ.get("HAVEN_BENCH_POSTGRES", "").strip()
    if server:
        runs.append(("PostgreSQL", partial(_run_postgres, server)))
    results: list[dict[str, Any]] = []
    failed = False
    for label, run in runs:
        print(f"bench: running on {label}…", file=sys.stderr)
        code, result = run()
        failed |= code != 0
        if result is None:
            print(f"FAIL: the {label} run ended with exit code {code} and no results", file=sys.stderr)
        else:
            results.append(result)
    report = _markdown(results)
    REPORT.write_text(report)
    print(report)
    if failed:
        print("FAIL: see the errors above", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
