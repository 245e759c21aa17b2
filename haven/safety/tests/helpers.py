"""Builders shared by the safety tests: a dosed session at T0, and a complete adverse event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from haven.core.testing import Cast, make_dosed_session
from haven.dosing.models import DosingSession
from haven.safety.services import AeData

T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def dosed(cast: Cast) -> DosingSession:
    return make_dosed_session(cast, dosed_at=T0)


def mild(**overrides: Any) -> AeData:
    values: dict[str, Any] = {
        "verbatim_term": "Jaw clenching",
        "onset_at": T0 + timedelta(minutes=50),
        "severity": "mild",
        "relatedness": "probable",
        "expected": True,
        "action_taken": "none",
        "outcome": "recovered",
    } | overrides
    return AeData(**values)


def serious(**overrides: Any) -> AeData:
    values: dict[str, Any] = {
        "verbatim_term": "Hypertensive urgency",
        "severity": "severe",
        "hospitalisation": True,
        "awareness_at": T0 + timedelta(minutes=70),
        "expected": False,
        "outcome": "recovering",
    } | overrides
    return mild(**values)
