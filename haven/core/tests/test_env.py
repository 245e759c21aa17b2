"""Settings come from the environment and refuse bad values loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from haven.core.env import env_bool, env_choice, env_database, env_int, env_list, env_str

REPO = Path(__file__).resolve().parents[3]
GOOD_KEY = "k" * 30 + "abcdefghijklmnopqrstuvwxyz"


def test_env_bool_refuses_words_it_does_not_know() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"HAVEN_DEBUG: must be one of true/false"):
        env_bool("HAVEN_DEBUG", False, environ={"HAVEN_DEBUG": "maybe"})


def test_env_bool_reads_common_spellings() -> None:
    assert env_bool("X", False, environ={"X": "Yes"}) is True
    assert env_bool("X", True, environ={"X": "0"}) is False
    assert env_bool("X", True, environ={}) is True


def test_env_int_names_the_variable_and_the_bound() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"HAVEN_IDLE_TIMEOUT_MINUTES: must be ≥ 1, got 0"):
        env_int("HAVEN_IDLE_TIMEOUT_MINUTES", 15, minimum=1, environ={"HAVEN_IDLE_TIMEOUT_MINUTES": "0"})
    with pytest.raises(ImproperlyConfigured, match=r"must be a whole number, got 'ten'"):
        env_int("N", 1, environ={"N": "ten"})


def test_env_choice_lists_the_choices() -> None:
    with pytest.raises(
        ImproperlyConfigured, match=r"HAVEN_ENV: must be one of embedded, production, got 'prod'"
    ):
        env_choice("HAVEN_ENV", "embedded", ("embedded", "production"), environ={"HAVEN_ENV": "prod"})


def test_env_list_refuses_empty_items() -> None:
    assert env_list("H", [], environ={"H": "a.example, b.example"}) == ["a.example", "b.example"]
    with pytest.raises(ImproperlyConfigured, match="without empty items"):
        env_list("H", [], environ={"H": "a.example,,b.example"})


def test_env_str_required_without_default() -> None:
    with pytest.raises(ImproperlyConfigured, match="HAVEN_X: must be set"):
        env_str("HAVEN_X", environ={})


def test_env_database_accepts_sqlite_and_postgres_only() -> None:
    assert env_database("DB", "sqlite:////srv/haven/db.sqlite3", environ={})["ENGINE"].endswith("sqlite3")
    pg = env_database("DB", "", environ={"DB": "postgres://haven@db.internal:5432/haven"})
    assert (pg["ENGINE"], pg["NAME"], pg["HOST"], pg["PORT"]) == (
        "django.db.backends.postgresql",
        "haven",
        "db.internal",
        5432,
    )
    with pytest.raises(ImproperlyConfigured, match="Haven runs on SQLite or PostgreSQL"):
        env_database("DB", "", environ={"DB": "mysql://root@localhost/haven"})
    with pytest.raises(ImproperlyConfigured, match="DB: not a database URL"):
        env_database("DB", "", environ={"DB": "nonsense://"})


def _load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "DJANGO_"))}
    clean |= {"HAVEN_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "haven.settings"} | env
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_requires_a_secret_key(tmp_path: Path) -> None:
    result = _load_settings(tmp_path, HAVEN_ENV="production", HAVEN_ALLOWED_HOSTS="haven.example")
    assert result.returncode != 0
    assert "HAVEN_SECRET_KEY: must be set when HAVEN_ENV=production" in result.stderr


def test_production_refuses_debug(tmp_path: Path) -> None:
    result = _load_settings(
        tmp_path,
        HAVEN_ENV="production",
        HAVEN_SECRET_KEY="k" * 30 + "abcdefghijklmnopqrstuvwxyz",
        HAVEN_DEBUG="true",
    )
    assert result.returncode != 0
    assert "HAVEN_DEBUG: must be false when HAVEN_ENV=production" in result.stderr


def test_short_secret_key_is_refused(tmp_path: Path) -> None:
    result = _load_settings(tmp_path, HAVEN_SECRET_KEY="too-short")
    assert result.returncode != 0
    assert "HAVEN_SECRET_KEY: must be at least 50 characters" in result.stderr


def test_embedded_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = _load_settings(tmp_path)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 64
    assert key_file.stat().st_mode & 0o077 == 0
    assert _load_settings(tmp_path).returncode == 0
    assert key_file.read_text() == key


def test_production_refuses_sqlite(tmp_path: Path) -> None:
    result = _load_settings(
        tmp_path, HAVEN_ENV="production", HAVEN_SECRET_KEY=GOOD_KEY, HAVEN_ALLOWED_HOSTS="haven.example"
    )
    assert result.returncode != 0
    assert "HAVEN_DATABASE_URL: production runs on PostgreSQL" in result.stderr


def test_production_refuses_a_wildcard_host(tmp_path: Path) -> None:
    result = _load_settings(
        tmp_path, HAVEN_ENV="production", HAVEN_SECRET_KEY=GOOD_KEY, HAVEN_ALLOWED_HOSTS="*"
    )
    assert result.returncode != 0
    assert "HAVEN_ALLOWED_HOSTS: must list the host names (not *)" in result.stderr


def test_production_settings_load_with_everything_required(tmp_path: Path) -> None:
    result = _load_settings(
        tmp_path,
        HAVEN_ENV="production",
        HAVEN_SECRET_KEY=GOOD_KEY,
        HAVEN_ALLOWED_HOSTS="haven.example",
        HAVEN_DATABASE_URL="postgres://haven@db.example:5432/haven",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert not (tmp_path / "secret_key").exists()
