from __future__ import annotations

from ninja import Schema


class IngestErrorOut(Schema):
    index: int
    id: str | None
    reason: str


class IngestOut(Schema):
    stored: int
    already_stored: int
    refused: int
    errors: list[IngestErrorOut]
