"""Reads for dosing sessions, through the access layer."""

from __future__ import annotations

import uuid

from haven.accounts.models import Site, User
from haven.core.errors import NotFound
from haven.core.ids import parse_public_id
from haven.dosing.models import DosingSession
from haven.patients.selectors import readable_sites


def access_session(*, user: User, session_id: uuid.UUID | str) -> DosingSession:
    session = (
        DosingSession.objects.filter(
            public_id=parse_public_id(session_id), course__site__in=readable_sites(user)
        )
        .select_related("course__site", "course__patient", "course__protocol_version", "visit")
        .first()
    )
    if session is None:
        raise NotFound("Session not found.")
    return session


def device_session(*, site: Site, session_id: uuid.UUID | str) -> DosingSession:
    """A session of the device token's own site; any other is "not found"."""
    session = (
        DosingSession.objects.filter(public_id=parse_public_id(session_id), course__site=site)
        .select_related("course__site", "course__protocol_version", "visit")
        .first()
    )
    if session is None:
        raise NotFound("Session not found.")
    return session
