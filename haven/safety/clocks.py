"""SAE reporting deadlines. Pure, no Django.

- The initial report to the sponsor is due 24 hours after the site becomes aware of a serious event
  (ICH E6 [U]: "immediately", which sponsors commonly set at 24 hours).
- The expedited regulatory report is due 7 days after awareness for a fatal or life-threatening event
  that is unexpected and related, otherwise 15 days (ICH E2A; 21 CFR 312.32 [U]). Every serious event
  gets the clock; the sponsor's expedited report stops it.

A protocol's optional ``safety`` block sets all three periods; these are the defaults.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from haven.protocols.schema import Safety

DEFAULTS = Safety()


def initial_due(awareness_at: datetime, config: Safety = DEFAULTS) -> datetime:
    return awareness_at + timedelta(hours=config.initial_report_hours)


def expedited_due(
    awareness_at: datetime,
    *,
    fatal_or_life_threatening: bool,
    unexpected: bool,
    related: bool,
    config: Safety = DEFAULTS,
) -> datetime:
    short = fatal_or_life_threatening and unexpected and related
    days = config.expedited_days_fatal_or_life_threatening if short else config.expedited_days_other
    return awareness_at + timedelta(days=days)
