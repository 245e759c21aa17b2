from __future__ import annotations

from django.db.models import QuerySet

from haven.core.errors import NotFound
from haven.protocols.models import ProtocolVersion
from haven.protocols.schema import Protocol


def protocol_version_list() -> QuerySet[ProtocolVersion]:
    return ProtocolVersion.objects.order_by("code", "created_at")


def protocol_version_get(*, code: str, version: str) -> ProtocolVersion:
    found = ProtocolVersion.objects.filter(code=code, version=version).first()
    if found is None:
        raise NotFound(f"No protocol {code} {version} is loaded.")
    return found


def protocol_of(version: ProtocolVersion) -> Protocol:
    """The typed protocol stored in ``version`` (validated when it was loaded)."""
    return Protocol.model_validate(version.content)
