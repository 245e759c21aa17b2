"""Output schemas of the protocols API (read-only: protocols are loaded from files, not over HTTP)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field


class ProtocolVersionOut(Schema):
    code: str
    version: str
    title: str
    frozen: bool = Field(description="True once a patient is enrolled on it: its content never changes")
    frozen_at: datetime | None


class RepeatOut(Schema):
    count: int
    every_days: int


class StaffNeedOut(Schema):
    role: str
    count: int
    lead: int


class ProtocolVisitOut(Schema):
    code: str
    name: str
    kind: str
    phase: str
    anchor: str = Field(description="'enrollment' or the code of an earlier visit")
    days: int = Field(description="days after the anchor")
    window_before: int
    window_after: int
    duration_minutes: int
    repeat: RepeatOut | None
    overnight: bool
    staff: list[StaffNeedOut]
    note_template: list[str]


class PhaseOut(Schema):
    code: str
    name: str


class ProtocolVersionDetailOut(ProtocolVersionOut):
    summary: str
    sources: list[str]
    source_name: str
    sha256: str
    phases: list[PhaseOut]
    visits: list[ProtocolVisitOut]
    dosing: dict[str, Any] | None = Field(description="the dosing rules, as in the protocol file")
    monitoring: dict[str, Any] | None = Field(description="the session monitoring rules, as in the file")
