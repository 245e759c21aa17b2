"""Settings from the environment, with helpers that fail loudly.

Every helper raises ``ImproperlyConfigured`` naming the variable and the rule it broke, so a
mistyped deployment stops at start-up instead of running with a surprising default. This module
imports nothing from Haven and nothing that needs configured settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
SUPPORTED_DATABASE_ENGINES = {
    "django.db.backends.sqlite3",
    "django.db.backends.postgresql",
}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    value = (os.environ if environ is None else environ).get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"{name}: must be set")
        return default
    return value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: must be one of true/false/1/0/yes/no/on/off, got {value!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: must be a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}: must be ≥ {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}: must be ≤ {maximum}, got {number}")
    return number


def env_choice(
    name: str, default: str, choices: tuple[str, ...], *, environ: Mapping[str, str] | None = None
) -> str:
    value = env_str(name, default, environ=environ)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}: must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_list(name: str, default: list[str], *, environ: Mapping[str, str] | None = None) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(item == "" for item in items):
        raise ImproperlyConfigured(f"{name}: must be a comma-separated list without empty items")
    return items


def env_database(name: str, default_url: str, *, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse a database URL (``sqlite:///path`` or ``postgres://user@host:port/name``)."""
    url = env_str(name, default_url, environ=environ)
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url))
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"{name}: not a database URL Haven understands ({exc})") from None
    engine = config.get("ENGINE")
    if engine not in SUPPORTED_DATABASE_ENGINES:
        raise ImproperlyConfigured(f"{name}: Haven runs on SQLite or PostgreSQL, got engine {engine!r}")
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}: the URL must name a database")
    return config
