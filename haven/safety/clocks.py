"""SAE reporting deadlines. Pure, no Django.

- The initial report to the sponsor is due 24 hours after the site becomes aware of a serious event
  (ICH E6 [U]: "immediately", which sponsors commonly set at 24 hours).
- The expedited regulatory report is due 7 days after awareness for a fatal or life-threatening event
  that is unexpected and related, otherwise 15 days (ICH E2A; 21 CFR 312.32 [U]). Every serious event
  gets the clock; the sponsor's expedited report stops it. Sites change the periods here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

INITIAL_REPORT_HOURS = 24
EXPEDITED_DAYS_FATAL_OR_LIFE_THREATENING = 7
EXPEDITED_DAYS_OTHER = 15


def initial_due(awareness_at: datetime) -> datetime:
    return awareness_at + timedelta(hours=INITIAL_REPORT_HOURS)


def expedited_due(
    awareness_at: datetime, *, fatal_or_life_threatening: bool, unexpected: bool, related: bool
) -> datetime:
    short = fatal_or_life_threatening and unexpected and related
    days = EXPEDITED_DAYS_FATAL_OR_LIFE_THREATENING if short else EXPEDITED_DAYS_OTHER
    return awareness_at + timedelta(days=days)
