from __future__ import annotations

import uuid
from datetime import date, datetime

from ninja import Schema
from pydantic import AwareDatetime, Field

from haven.accounts.models import Role
from haven.scheduling.models import AppointmentStatus, RoomKind


class RoomCreateIn(Schema):
    name: str = Field(max_length=100)
    kind: RoomKind


class RoomOut(Schema):
    id: uuid.UUID
    site_id: uuid.UUID
    name: str
    kind: RoomKind
    is_active: bool


class StaffPickIn(Schema):
    user_id: uuid.UUID
    role: Role
    is_lead: bool = False


class AppointmentCheckIn(Schema):
    room_id: uuid.UUID | None = Field(description="the room; null for a phone check-in")
    # Aware datetimes only: a time without an offset means a different instant at every site.
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    staff: list[StaffPickIn] = Field(default_factory=list, max_length=20)


class AppointmentBookIn(Schema):
    room_id: uuid.UUID | None = Field(description="the room; null for a phone check-in")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    staff: list[StaffPickIn] = Field(default_factory=list, max_length=20)
    outside_window_reason: str = Field(
        "", max_length=2000, description="required when the day falls outside the visit's window"
    )


class BookingCheckOut(Schema):
    ok: bool = Field(description="true when nothing stands in the way of the booking")
    problems: dict[str, list[str]] = Field(description="field → why the booking would be refused")
    warnings: list[str] = Field(description="what deserves a look but does not refuse the booking")


class AppointmentCancelIn(Schema):
    reason: str = Field(max_length=2000)


class AppointmentVisitOut(Schema):
    id: uuid.UUID
    code: str
    name: str


class AppointmentRoomOut(Schema):
    id: uuid.UUID
    name: str


class AppointmentStaffOut(Schema):
    user_id: uuid.UUID
    printed_name: str
    role: Role
    is_lead: bool


class AppointmentOut(Schema):
    id: uuid.UUID
    site_id: uuid.UUID
    visit: AppointmentVisitOut
    study_id: str
    room: AppointmentRoomOut | None
    starts_at: datetime
    ends_at: datetime
    staff: list[AppointmentStaffOut]
    status: AppointmentStatus
    outside_window_reason: str
    cancel_reason: str


class CalendarFilter(Schema):
    first: date | None = Field(
        None,
        ge=date(1900, 1, 1),
        le=date(9000, 12, 31),
        description="the first local day (YYYY-MM-DD); today at the site if left out",
    )
    days: int = Field(1, ge=1, le=31, description="how many days from ``first``")
    room_id: uuid.UUID | None = Field(None, description="only this room's appointments")
    user_id: uuid.UUID | None = Field(None, description="only appointments this person is booked for")


class CalendarFeedOut(Schema):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class CalendarFeedCreatedOut(Schema):
    id: uuid.UUID
    created_at: datetime
    url: str = Field(description="the secret feed URL; shown this once only, Haven keeps a hash")
