"""Time helpers: everything is stored in UTC and shown in the site's time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, available_timezones

from django.utils import timezone


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return timezone.now()


def is_valid_time_zone(name: str) -> bool:
    return name in available_timezones()


def local(moment: datetime, time_zone: str) -> datetime:
    """``moment`` as wall-clock time in ``time_zone`` (an IANA name such as ``Europe/Berlin``)."""
    return moment.astimezone(ZoneInfo(time_zone))


def today_at(time_zone: str) -> date:
    """Today's date where the site is: a clinic's "today" is its own, not UTC's."""
    return now().astimezone(ZoneInfo(time_zone)).date()
