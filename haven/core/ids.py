"""Public ids in URLs and API paths."""

from __future__ import annotations

import uuid

from haven.core.errors import NotFound


def parse_public_id(value: uuid.UUID | str) -> uuid.UUID:
    """``value`` as a UUID; anything else names no row, so it is "not found" like a missing one."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound() from None
