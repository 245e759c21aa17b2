"""Canonical JSON and hashing for the audit chain and e-signatures. Pure: no Django.

The same logical content must always give the same bytes, on every database and Python version:
keys sorted, no insignificant whitespace, and values reduced to JSON primitives first
(``jsonable``) so a Decimal, a UUID or a datetime hashes the same whether it came from a form, the
ORM or a JSON column.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

JSONValue = None | bool | int | str | list["JSONValue"] | dict[str, "JSONValue"]


def jsonable(value: Any) -> JSONValue:
    """Reduce ``value`` to a JSON primitive that survives a round trip through a JSON column."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, float | Decimal):
        # Floats do not round-trip exactly through every JSON column; their decimal text does.
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes cannot be audited; use timezone-aware UTC")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=canonical_json) if isinstance(value, set | frozenset) else items
    raise TypeError(f"cannot audit a value of type {type(value).__name__}")


def canonical_json(value: Any) -> str:
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


GENESIS_HASH = "0" * 64
