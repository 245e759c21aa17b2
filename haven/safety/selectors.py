"""Reads for safety data, through the access layer. A blinded rater reaches none of it."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from haven.accounts.models import Site, SiteMembership, User
from haven.accounts.selectors import sites_for
from haven.core.errors import NotFound
from haven.core.ids import parse_public_id
from haven.dosing.models import Alert, DoseAdministration, DosingSession
from haven.patients.models import EnrollmentCourse, Visit
from haven.safety.aesi import LABELS
from haven.safety.models import AdverseEvent, AeStatus, SaeClock, SolicitedChecklist
from haven.safety.roles import READ_ROLES


def safety_sites(user: User) -> QuerySet[Site]:
    return sites_for(user).filter(
        pk__in=SiteMembership.objects.filter(user=user, role__in=READ_ROLES).values("site_id")
    )


def _events() -> QuerySet[AdverseEvent]:
    return AdverseEvent.objects.select_related(
        "course__site", "course__patient", "reporter", "session__visit", "dose", "visit", "coded_by"
    )


def access_adverse_event(*, user: User, event_id: uuid.UUID | str) -> AdverseEvent:
    event = _events().filter(public_id=parse_public_id(event_id), course__site__in=safety_sites(user)).first()
    if event is None:
        raise NotFound("Adverse event not found.")
    return event


def adverse_event_list(*, site: Site, include_errors: bool = False) -> QuerySet[AdverseEvent]:
    events = _events().filter(course__site=site)
    if not include_errors:
        events = events.exclude(status=AeStatus.ENTERED_IN_ERROR)
    return events


def latest_dose_before(event: AdverseEvent) -> DoseAdministration | None:
    return (
        DoseAdministration.objects.filter(session__course=event.course, administered_at__lte=event.onset_at)
        .order_by("-administered_at")
        .first()
    )


def time_since_dose(event: AdverseEvent) -> timedelta | None:
    """Onset minus the latest dose of the course given at or before it (None: no dose before onset)."""
    dose = latest_dose_before(event)
    return event.onset_at - dose.administered_at if dose is not None else None


def clock_queue(*, site: Site) -> QuerySet[SaeClock]:
    """The running SAE clocks of the site's events, soonest due first."""
    return (
        SaeClock.objects.filter(event__course__site=site, stopped_at__isnull=True, cancelled_at__isnull=True)
        .exclude(event__status=AeStatus.ENTERED_IN_ERROR)
        .select_related("event__course__patient", "event__reporter")
        .order_by("due_at")
    )


def clocks_due(
    *, site: Site, moment: datetime, within: timedelta = timedelta(hours=24)
) -> QuerySet[SaeClock]:
    """Running clocks due within ``within`` of ``moment`` or already overdue."""
    return clock_queue(site=site).filter(due_at__lte=moment + within)


def incidence(*, site: Site) -> dict[str, list[tuple[str, int, int]]]:
    """Counts by AESI category, SOC and PT: (label, events, patients) per row, most frequent first."""
    events = list(adverse_event_list(site=site).exclude(status=AeStatus.DRAFT))
    tables: dict[str, list[tuple[str, int, int]]] = {}
    for name, keys in (
        ("category", lambda e: [LABELS.get(c, c) for c in e.aesi_categories] or ["(no special interest)"]),
        ("soc", lambda e: [e.meddra_soc_name or "(not coded)"]),
        ("pt", lambda e: [e.meddra_pt_name or "(not coded)"]),
    ):
        counts: Counter[str] = Counter()
        patients: dict[str, set[int]] = {}
        for event in events:
            for key in keys(event):
                counts[key] += 1
                patients.setdefault(key, set()).add(event.course.patient_id)
        tables[name] = sorted(
            ((k, n, len(patients[k])) for k, n in counts.items()), key=lambda row: (-row[1], row[0])
        )
    return tables


def open_reviews(*, site: Site) -> QuerySet[AdverseEvent]:
    return adverse_event_list(site=site).filter(Q(status=AeStatus.DRAFT))


def access_safety_course(*, user: User, course_id: uuid.UUID | str) -> EnrollmentCourse:
    """A course whose safety data ``user`` may see; for a blinded rater, like any other, "not found"."""
    course = (
        EnrollmentCourse.objects.filter(public_id=parse_public_id(course_id), site__in=safety_sites(user))
        .select_related("site", "patient", "protocol_version")
        .first()
    )
    if course is None:
        raise NotFound("Course not found.")
    return course


def access_safety_site(*, user: User, site_id: uuid.UUID | str) -> Site:
    site = safety_sites(user).filter(public_id=parse_public_id(site_id)).first()
    if site is None:
        raise NotFound("Site not found.")
    return site


def course_dose(*, course: EnrollmentCourse, dose_id: uuid.UUID | str) -> DoseAdministration:
    dose = DoseAdministration.objects.filter(
        public_id=parse_public_id(dose_id), session__course=course
    ).first()
    if dose is None:
        raise NotFound("Dose not found.")
    return dose


def course_session(*, course: EnrollmentCourse, session_id: uuid.UUID | str) -> DosingSession:
    session = DosingSession.objects.filter(public_id=parse_public_id(session_id), course=course).first()
    if session is None:
        raise NotFound("Session not found.")
    return session


def course_visit(*, course: EnrollmentCourse, visit_id: uuid.UUID | str) -> Visit:
    visit = Visit.objects.filter(public_id=parse_public_id(visit_id), course=course).first()
    if visit is None:
        raise NotFound("Visit not found.")
    return visit


def course_alert(*, course: EnrollmentCourse, alert_id: uuid.UUID | str) -> Alert:
    alert = (
        Alert.objects.filter(public_id=parse_public_id(alert_id), session__course=course)
        .select_related("observation", "session")
        .first()
    )
    if alert is None:
        raise NotFound("Alert not found.")
    return alert


def solicited_list(*, course: EnrollmentCourse) -> QuerySet[SolicitedChecklist]:
    return SolicitedChecklist.objects.filter(course=course).select_related("by", "session")


def access_reload(event: AdverseEvent) -> AdverseEvent:
    """The event as stored now, with what its output needs loaded (after a service changed it)."""
    return (
        _events().select_related("source_alert", "source_emergency", "source_safety_alert").get(pk=event.pk)
    )


def site_courses(*, site: Site) -> QuerySet[EnrollmentCourse]:
    """Courses of the site a new adverse event can be recorded for (enrolled at some point)."""
    return (
        EnrollmentCourse.objects.filter(site=site, enrolled_on__isnull=False)
        .select_related("patient")
        .order_by("patient__study_id")
    )


def incidence_by_arm(*, site: Site, user: User) -> dict[str, Any] | None:
    """Patients with at least one event, n (%) [events], per arm and AESI category — only for a
    user allowed to see the arm of every randomized patient at the site (the study's unblinded
    statisticians, or an unblinded role); None for everyone else, who must not learn arms."""
    from haven.trials.models import Randomization
    from haven.trials.services import arm_for

    randomized = list(
        Randomization.objects.filter(course__site=site).select_related("study", "slot", "course__site")
    )
    if not randomized:
        return None
    arms: dict[int, str] = {}
    for randomization in randomized:
        arm = arm_for(user, randomization)
        if arm is None:
            return None
        arms[randomization.course_id] = arm
    names = sorted(set(arms.values()))
    totals = Counter(arms.values())
    events = [e for e in adverse_event_list(site=site).exclude(status=AeStatus.DRAFT) if e.course_id in arms]
    rows: list[dict[str, Any]] = []
    groups: list[tuple[str, str | None]] = [("Any adverse event", None)]
    groups += [(LABELS.get(code, code), code) for code in sorted(LABELS)]
    for label, category in groups:
        cells = {}
        for name in names:
            chosen = [
                e
                for e in events
                if arms[e.course_id] == name and (category is None or category in e.aesi_categories)
            ]
            patients = len({e.course_id for e in chosen})
            cells[name] = {
                "patients": patients,
                "percent": round(100 * patients / totals[name], 1) if totals[name] else 0.0,
                "events": len(chosen),
            }
        rows.append({"label": label, "cells": cells})
    return {"arms": [(n, totals[n]) for n in names], "rows": rows}


def safety_overview(*, user: User, moment: datetime) -> dict[str, Any]:
    """Every site whose safety data ``user`` may read, side by side (a monitor of several sites):
    per site the events recorded, the serious ones and the SAE clocks running and overdue; the
    running clocks of all of them, soonest first; and one line listing, newest onset first. Drafts
    awaiting review and entries in error are left out, as on each site's page."""
    sites = list(safety_sites(user).order_by("name"))
    events = list(
        _events()
        .filter(course__site__in=sites)
        .exclude(status__in=[AeStatus.DRAFT, AeStatus.ENTERED_IN_ERROR])
        .order_by("-onset_at", "-pk")
    )
    queue = list(
        SaeClock.objects.filter(
            event__course__site__in=sites, stopped_at__isnull=True, cancelled_at__isnull=True
        )
        .exclude(event__status=AeStatus.ENTERED_IN_ERROR)
        .select_related("event__course__site", "event__course__patient")
        .order_by("due_at", "pk")
    )
    summary = [
        {
            "site": site,
            "events": sum(1 for e in events if e.course.site_id == site.pk),
            "serious": sum(1 for e in events if e.course.site_id == site.pk and e.serious),
            "running": sum(1 for c in queue if c.event.course.site_id == site.pk),
            "overdue": sum(1 for c in queue if c.event.course.site_id == site.pk and c.due_at < moment),
        }
        for site in sites
    ]
    return {
        "sites": summary,
        "queue": [(c, c.due_at < moment) for c in queue],
        "events": events,
    }
