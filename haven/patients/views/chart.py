"""The patient's chart: identity (audited), courses, status moves, enrollment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from haven.accounts.actors import actor_for
from haven.accounts.models import Role, User
from haven.accounts.selectors import roles_for
from haven.core.errors import PermissionDenied, field_error
from haven.patients import selectors, services
from haven.patients.forms import (
    CourseEnrollForm,
    CourseOpenForm,
    CourseTransitionForm,
)
from haven.patients.models import (
    CourseStatus,
    Deviation,
    EnrollmentCourse,
    Patient,
    Visit,
    VisitStatus,
)
from haven.patients.roles import (
    CONSENT_ROLES,
    COURSE_ROLES,
    ELIGIBILITY_ROLES,
    IDENTITY_ROLES,
)
from haven.patients.views.common import (
    COURSE_BADGE,
    RECONSENT_STATUSES,
    VISIT_BADGE,
    _htmx,
    _run,
    _today,
    _user,
    _version,
    _versions,
    _when,
)
from haven.scheduling.selectors import appointment_events
from haven.trials.selectors import has_study, trial_events


# The chart --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScheduleRow:
    visit: Visit
    badge: str
    overdue: bool


@dataclass(frozen=True)
class CoursePanel:
    course: EnrollmentCourse
    badge: str
    schedule: list[ScheduleRow]
    deviations: list[Deviation]
    timeline: list[tuple[str, str, str]]
    transition_form: forms.Form | None
    reason_needed: str
    enroll_form: forms.Form | None
    consent_action: str
    randomized_study: bool


def _ids(course: EnrollmentCourse) -> str:
    """Field ids unique on a chart that shows several courses."""
    return f"id_{course.public_id.hex[:8]}_%s"


def _schedule_row(visit: Visit, today: date) -> ScheduleRow:
    overdue = visit.status == VisitStatus.PLANNED and visit.window_latest < today
    return ScheduleRow(visit, "bad" if overdue else VISIT_BADGE.get(VisitStatus(visit.status), ""), overdue)


def _moves(course: EnrollmentCourse, roles: frozenset[Role]) -> list[tuple[str, str]]:
    """The moves to offer now: legal from the current status, not reserved to a dedicated service
    (consent, enrollment), and within the user's roles."""
    current = CourseStatus(course.status)
    order = list(CourseStatus)
    moves = []
    for to in sorted(services.TRANSITIONS[current], key=order.index):
        if (current, to) in services._BY_SERVICE:
            continue
        needs = ELIGIBILITY_ROLES if to in (CourseStatus.ELIGIBLE, CourseStatus.INELIGIBLE) else COURSE_ROLES
        if roles & needs:
            moves.append((to.value, to.label))
    return moves


def _panel(
    course: EnrollmentCourse, roles: frozenset[Role], today: date, bound: Mapping[str, forms.Form]
) -> CoursePanel:
    status = CourseStatus(course.status)
    tz = course.site.time_zone
    moves = _moves(course, roles)
    transition = bound.get("transition") or CourseTransitionForm(moves=moves, auto_id=_ids(course))
    enroll = bound.get("enroll") or CourseEnrollForm(initial={"enrolled_on": today}, auto_id=_ids(course))
    consent_action = ""
    if roles & CONSENT_ROLES:
        if status == CourseStatus.ELIGIBLE:
            consent_action = "Take consent"
        elif status in RECONSENT_STATUSES and services.consent_current(course) is None:
            consent_action = "Re-consent: the consent document in use has changed"
    schedule = [_schedule_row(v, today) for v in selectors.course_visits(course)]
    return CoursePanel(
        course=course,
        badge=COURSE_BADGE.get(status, "ok"),
        schedule=schedule,
        deviations=list(selectors.deviation_list(course=course)),
        timeline=[
            (_when(e.at, tz), e.kind, e.text)
            for e in selectors.course_timeline(
                course, extra=[*appointment_events(course), *trial_events(course)]
            )
        ],
        transition_form=transition if moves else None,
        reason_needed=", ".join(
            s.label for s in CourseStatus if s in services._NEEDS_REASON and (s.value, s.label) in moves
        ),
        enroll_form=enroll if status == CourseStatus.CONSENTED and roles & COURSE_ROLES else None,
        consent_action=consent_action,
        randomized_study=has_study(course),
    )


def _chart(
    request: HttpRequest,
    user: User,
    patient: Patient,
    *,
    status: int = 200,
    course: EnrollmentCourse | None = None,
    bound: Mapping[str, forms.Form] | None = None,
) -> HttpResponse:
    """The chart; ``bound`` holds a refused form of ``course`` (or the open-course form)."""
    bound = bound or {}
    site = patient.site
    roles = roles_for(user, site)
    today = _today(site)
    panels = [
        _panel(c, roles, today, bound if course is not None and c.pk == course.pk else {})
        for c in selectors.course_list(patient=patient).select_related("site")
    ]
    open_form = bound.get("open") if course is None else None
    context = {
        "patient": patient,
        "site": site,
        "duplicate_of": patient.possible_duplicate_of,
        "can_see_identity": bool(roles & IDENTITY_ROLES),
        # Adverse events are recorded by the clinical team (never shown to a blinded rater).
        "sees_sessions": bool(roles & {Role.THERAPIST, Role.PHYSICIAN, Role.COORDINATOR}),
        "panels": panels,
        "open_form": (open_form or CourseOpenForm(versions=_versions())) if roles & COURSE_ROLES else None,
    }
    return render(request, "patients/chart.html", context, status=status)


@login_required
def patient_chart(request: HttpRequest, patient_id: str) -> HttpResponse:
    user = _user(request)
    return _chart(request, user, selectors.access_patient(user=user, patient_id=patient_id))


@login_required
@require_POST
def patient_identity(request: HttpRequest, patient_id: str) -> HttpResponse:
    """Identifying data, on request and audited; a partial for htmx, a page otherwise."""
    user = _user(request)
    patient = selectors.access_patient(user=user, patient_id=patient_id)
    try:
        identity = services.patient_identity_view(
            actor=actor_for(request), patient=patient, purpose="shown on the chart"
        )
    except PermissionDenied as error:
        if not _htmx(request):
            raise
        return render(request, "patients/partials/identity.html", {"error": error}, status=error.status)
    template = "patients/partials/identity.html" if _htmx(request) else "patients/identity.html"
    return render(request, template, {"patient": patient, "identity": identity})


@login_required
@require_POST
def course_open(request: HttpRequest, patient_id: str) -> HttpResponse:
    user = _user(request)
    patient = selectors.access_patient(user=user, patient_id=patient_id)
    form = CourseOpenForm(request.POST, versions=_versions())

    def open_course(data: dict[str, Any]) -> None:
        version = _version(data["protocol"])
        if version is None:
            raise field_error("protocol", "is not loaded")
        services.course_open(actor=actor_for(request), patient=patient, protocol_version=version)

    status = _run(form, open_course)
    if status is not None:
        return _chart(request, user, patient, status=status, bound={"open": form})
    messages.success(request, "Course opened.")
    return redirect("patients:chart", patient_id=patient.public_id)


def _course_action(
    request: HttpRequest,
    course_id: str,
    name: str,
    make_form: Callable[[EnrollmentCourse, frozenset[Role]], forms.Form],
    call: Callable[[EnrollmentCourse, dict[str, Any]], str],
) -> HttpResponse:
    """Post one of a course's forms: on success back to the chart with ``call``'s message."""
    user = _user(request)
    course = selectors.access_course(user=user, course_id=course_id)
    form = make_form(course, roles_for(user, course.site))
    done: list[str] = []
    status = _run(form, lambda data: done.append(call(course, data)))
    if status is not None:
        return _chart(request, user, course.patient, status=status, course=course, bound={name: form})
    messages.success(request, done[0])
    return redirect("patients:chart", patient_id=course.patient.public_id)


@login_required
@require_POST
def course_transition(request: HttpRequest, course_id: str) -> HttpResponse:
    def move(course: EnrollmentCourse, data: dict[str, Any]) -> str:
        moved = services.course_transition(
            actor=actor_for(request), course=course, to=data["status"], reason=data["reason"]
        )
        return f"The course is now {moved.get_status_display()}."

    return _course_action(
        request,
        course_id,
        "transition",
        lambda course, roles: CourseTransitionForm(
            request.POST, moves=_moves(course, roles), auto_id=_ids(course)
        ),
        move,
    )


@login_required
@require_POST
def course_enroll(request: HttpRequest, course_id: str) -> HttpResponse:
    def enroll(course: EnrollmentCourse, data: dict[str, Any]) -> str:
        services.course_enroll(actor=actor_for(request), course=course, enrolled_on=data["enrolled_on"])
        return "Enrolled: the schedule is planned."

    return _course_action(
        request,
        course_id,
        "enroll",
        lambda course, _: CourseEnrollForm(request.POST, auto_id=_ids(course)),
        enroll,
    )


# Consent ----------------------------------------------------------------------------------------
