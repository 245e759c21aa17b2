"""The visit schedule: re-planning from actual dates, recording visits, deviations."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from haven.audit.context import Actor
from haven.audit.services import audit_create, audit_update, diff, require_reason, snapshot
from haven.core.errors import Conflict, field_error
from haven.core.time import today_at
from haven.patients.models import (
    Deviation,
    DeviationKind,
    EnrollmentCourse,
    Visit,
    VisitStatus,
)
from haven.patients.roles import (
    VISIT_ROLES,
)
from haven.patients.services.common import (
    VISIT_PLAN_FIELDS,
    _require_role,
)
from haven.protocols.plan import plan_schedule
from haven.protocols.selectors import protocol_of


def _replan(actor: Actor, course: EnrollmentCourse, *, reason: str) -> list[Visit]:
    """Re-plan the course's open visits from the visits that took place; audit each move.

    Visits that took place keep their dates. Planned visits move with their anchors; a planned
    visit that the (new) protocol no longer has is cancelled; one it adds is created.
    """
    assert course.enrolled_on is not None
    visits = {v.code: v for v in Visit.objects.select_for_update().filter(course=course)}
    happened = {code: v.occurred_on for code, v in visits.items() if v.occurred_on is not None}
    plan = {
        p.code: p
        for p in plan_schedule(
            protocol_of(course.protocol_version), enrollment=course.enrolled_on, actual=happened
        )
    }
    changed: list[Visit] = []
    for code, visit in visits.items():
        if visit.status != VisitStatus.PLANNED:
            continue
        before = snapshot(visit, VISIT_PLAN_FIELDS)
        planned = plan.get(code)
        if planned is None:
            visit.status = VisitStatus.CANCELLED
        else:
            visit.target_date, visit.window_earliest, visit.window_latest = (
                planned.target,
                planned.earliest,
                planned.latest,
            )
        changes = diff(before, snapshot(visit, VISIT_PLAN_FIELDS))
        if changes:
            visit.save()
            audit_update(
                actor=actor, instance=visit, changes=changes, site_id=course.site.public_id, reason=reason
            )
            changed.append(visit)
    for code, planned in plan.items():
        if code not in visits:
            visit = Visit.objects.create(
                course=course,
                code=code,
                definition_code=planned.definition,
                name=planned.name,
                kind=planned.kind.value,
                phase=planned.phase,
                anchor=planned.anchor,
                target_date=planned.target,
                window_earliest=planned.earliest,
                window_latest=planned.latest,
                planned_minutes=planned.duration_minutes,
            )
            audit_create(
                actor=actor, instance=visit, fields=("code", "target_date"), site_id=course.site.public_id
            )
            changed.append(visit)
    return changed


def visit_record_occurrence(*, actor: Actor, visit: Visit, occurred_on: date) -> Visit:
    """Record the day a visit took place; outside its window that is a protocol deviation.
    The visits anchored to it are re-planned from the actual date."""
    course = visit.course
    user = _require_role(actor, course.site, VISIT_ROLES, "Recording a visit")
    if occurred_on > today_at(course.site.time_zone):
        raise field_error("occurred_on", "cannot be in the future")
    if course.enrolled_on is not None and occurred_on < course.enrolled_on:
        raise field_error("occurred_on", f"cannot be before enrollment ({course.enrolled_on:%Y-%m-%d})")
    with transaction.atomic():
        visit = (
            Visit.objects.select_for_update()
            .select_related("course__site", "course__patient")
            .get(pk=visit.pk)
        )
        if visit.status != VisitStatus.PLANNED:
            raise Conflict(f"Visit {visit.code} is already {visit.get_status_display().lower()}.")
        visit.status, visit.occurred_on = VisitStatus.OCCURRED, occurred_on
        visit.save(update_fields=["status", "occurred_on", "updated_at"])
        audit_update(
            actor=actor,
            instance=visit,
            changes={
                "occurred_on": {"old": None, "new": occurred_on},
                "status": {"old": "planned", "new": "occurred"},
            },
            site_id=course.site.public_id,
            reason="visit took place",
        )
        outside = 0
        if occurred_on < visit.window_earliest:
            outside = (occurred_on - visit.window_earliest).days
        elif occurred_on > visit.window_latest:
            outside = (occurred_on - visit.window_latest).days
        if outside:
            side = "before" if outside < 0 else "after"
            deviation = Deviation.objects.create(
                course=course,
                visit=visit,
                kind=DeviationKind.VISIT_OUT_OF_WINDOW,
                days_outside_window=outside,
                description=(
                    f"{visit.name} took place on {occurred_on:%Y-%m-%d}, {abs(outside)} day(s) {side} its window "
                    f"({visit.window_earliest:%Y-%m-%d} to {visit.window_latest:%Y-%m-%d})."
                ),
                recorded_by=user,
            )
            audit_create(
                actor=actor,
                instance=deviation,
                fields=("kind", "description", "days_outside_window"),
                site_id=course.site.public_id,
            )
        _replan(actor, course, reason=f"re-planned after {visit.code} took place on {occurred_on:%Y-%m-%d}")
    return visit


def visit_mark_missed(*, actor: Actor, visit: Visit, reason: str) -> Visit:
    user = _require_role(actor, visit.course.site, VISIT_ROLES, "Recording a missed visit")
    reason = require_reason(reason)
    with transaction.atomic():
        visit = Visit.objects.select_for_update().select_related("course__site").get(pk=visit.pk)
        if visit.status != VisitStatus.PLANNED:
            raise Conflict(f"Visit {visit.code} is already {visit.get_status_display().lower()}.")
        visit.status = VisitStatus.MISSED
        visit.save(update_fields=["status", "updated_at"])
        audit_update(
            actor=actor,
            instance=visit,
            changes={"status": {"old": "planned", "new": "missed"}},
            site_id=visit.course.site.public_id,
            reason=reason,
        )
        deviation = Deviation.objects.create(
            course=visit.course,
            visit=visit,
            kind=DeviationKind.VISIT_MISSED,
            description=f"{visit.name} (due {visit.target_date:%Y-%m-%d}) was missed: {reason}",
            recorded_by=user,
        )
        audit_create(
            actor=actor,
            instance=deviation,
            fields=("kind", "description"),
            site_id=visit.course.site.public_id,
        )
    return visit
