"""Staff pages for outcomes: a patient's forms, scores and trajectories, entering a form, the portal
link, safety alerts, and the site's outcome list (with a filter for who is worsening).

Every row is loaded through an ``access_*`` selector; every change goes through a service.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from haven.accounts.actors import actor_for
from haven.accounts.models import User
from haven.accounts.selectors import access_site, roles_for
from haven.core.errors import DomainError, NotFound
from haven.core.forms import attach_error
from haven.core.time import today_at
from haven.outcomes import instruments, scoring, selectors, services
from haven.outcomes.forms import (
    ErrorForm,
    FormRequestForm,
    PortalLinkForm,
    RevokeForm,
    SafetyAckForm,
    SafetyResolveForm,
)
from haven.outcomes.models import (
    PortalLink,
    PortalMessage,
    Respondent,
    Response,
    SafetyAlert,
    SafetyAlertStatus,
)
from haven.outcomes.schedule import forms_for
from haven.outcomes.scoring import YES_NO
from haven.patients.models import EnrollmentCourse
from haven.patients.roles import READ_ROLES
from haven.patients.selectors import access_course

CHART_W, CHART_H, PAD = 640, 220, 36


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@dataclass(frozen=True)
class ChartPoint:
    x: int
    y: int
    label: str
    marker: str


@dataclass(frozen=True)
class Chart:
    name: str
    instrument: str
    path: str
    points: list[ChartPoint]
    lines: list[tuple[int, str]]
    maximum: Decimal
    width: int = CHART_W
    height: int = CHART_H


def _charts(course: EnrollmentCourse) -> list[Chart]:
    charts = []
    for trajectory in selectors.trajectories(course):
        points = trajectory.points
        n = len(points)
        top = trajectory.maximum

        def y(value: Decimal, top: Decimal = top) -> int:
            return int(CHART_H - PAD - (value / top) * (CHART_H - 2 * PAD))

        plotted = []
        for i, point in enumerate(points):
            x = PAD + (int(i * (CHART_W - 2 * PAD) / (n - 1)) if n > 1 else (CHART_W - 2 * PAD) // 2)
            change = f", {point.change.normalize():+} from the first" if point.change is not None else ""
            label = f"{point.at:%Y-%m-%d}{' · ' + point.visit if point.visit else ''}: {point.total.normalize()}{change}"
            plotted.append(ChartPoint(x=x, y=y(point.total), label=label, marker=point.marker or "plain"))
        charts.append(
            Chart(
                name=trajectory.name,
                instrument=trajectory.instrument,
                path=" ".join(f"{'M' if i == 0 else 'L'} {p.x} {p.y}" for i, p in enumerate(plotted)),
                points=plotted,
                lines=[(y(value), label) for value, label in trajectory.thresholds if value <= top],
                maximum=top,
            )
        )
    return charts


def _patient_instruments() -> list[tuple[str, str]]:
    return [(code, d.name) for code, d in instruments.INSTRUMENTS.items() if scoring.patient_completes(code)]


def _page(
    request: HttpRequest,
    user: User,
    course: EnrollmentCourse,
    *,
    status: int = 200,
    bound: dict[str, forms.Form] | None = None,
) -> HttpResponse:
    bound = bound or {}
    site = course.site
    roles = roles_for(user, site)
    responses = list(
        Response.objects.filter(course=course)
        .select_related("visit", "entered_by")
        .prefetch_related("scores")
        .order_by("-completed_at", "-pk")
    )
    context: dict[str, Any] = {
        "course": course,
        "patient": course.patient,
        "site": site,
        "status": selectors.outcome_status(course),
        "forms": forms_for(course, today_at(site.time_zone)),
        "charts": _charts(course),
        "responses": [(r, sorted(r.scores.all(), key=lambda s: (s.created_at, s.pk))) for r in responses],
        "alerts": list(
            SafetyAlert.objects.filter(course=course).select_related(
                "response", "acknowledged_by", "resolved_by"
            )
        ),
        "link": PortalLink.objects.filter(course=course, revoked_at__isnull=True)
        .order_by("-created_at")
        .first(),
        "messages_sent": list(PortalMessage.objects.filter(course=course).order_by("-created_at")[:10]),
        "link_form": bound.get("link") or PortalLinkForm(),
        "request_form": bound.get("request") or FormRequestForm(instruments=_patient_instruments()),
        "revoke_form": RevokeForm(auto_id="id_revoke_%s"),
        "ack_form": bound.get("ack") or SafetyAckForm(auto_id=False),
        "resolve_form": bound.get("resolve") or SafetyResolveForm(auto_id=False),
        "error_form": ErrorForm(auto_id=False),
        "can_enter": bool(roles & services.RESPONSE_ROLES),
        "can_link": bool(roles & services.PORTAL_ROLES),
        "can_safety": bool(roles & services.SAFETY_ROLES),
        "new_secret": request.session.pop("portal_secret_shown", None),
    }
    return render(request, "outcomes/course.html", context, status=status)


@login_required
@require_safe
def course_outcomes(request: HttpRequest, course_id: str) -> HttpResponse:
    user = _user(request)
    return _page(request, user, access_course(user=user, course_id=course_id))


@login_required
@require_http_methods(["GET", "POST"])
def form_entry(request: HttpRequest, course_id: str, instrument: str) -> HttpResponse:
    """A member of staff completes a form: on the patient's behalf, or as the rater."""
    user = _user(request)
    course = access_course(user=user, course_id=course_id)
    code = scoring.resolve(instrument)
    if code is None:
        raise NotFound("No such instrument.")
    key = request.GET.get("form") or request.POST.get("form") or ""
    due = next(
        (
            f
            for f in forms_for(course, today_at(course.site.time_zone))
            if f.key == key and f.instrument == code
        ),
        None,
    )
    visit = due.visit if due else None
    definition = scoring.definition(code)
    respondents = [r for r in Respondent.values if r != "patient" or scoring.patient_completes(code)]
    answers: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    message = ""
    if request.method == "POST":
        answers = scoring.parse_form(code, request.POST)
        respondent = request.POST.get("respondent", "patient")
        try:
            services.response_record(
                actor=actor_for(request),
                course=course,
                instrument=code,
                answers=answers,
                visit=visit,
                request=due.request if due else None,
                respondent=respondent,
            )
        except DomainError as error:
            errors, message = error.fields, error.message
        else:
            messages.success(request, f"{definition.name} recorded and scored.")
            return redirect("outcomes:course", course_id=course.public_id)
    return render(
        request,
        "outcomes/entry.html",
        {
            "course": course,
            "patient": course.patient,
            "site": course.site,
            "instrument": definition,
            "code": code,
            "items": scoring.items(code),
            "answers": {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in answers.items()},
            "errors": errors,
            "error_message": message,
            "visit": visit,
            "due": due,
            "respondents": respondents,
            "yes_no_choices": YES_NO,
        },
        status=422 if errors or message else 200,
    )


@login_required
@require_POST
def link_create(request: HttpRequest, course_id: str) -> HttpResponse:
    user = _user(request)
    course = access_course(user=user, course_id=course_id)
    form = PortalLinkForm(request.POST)
    if form.is_valid():
        try:
            _, secret = services.portal_link_create(
                actor=actor_for(request),
                course=course,
                channel=form.cleaned_data["channel"],
                second_factor=form.cleaned_data["second_factor"],
                pin=form.cleaned_data["pin"],
                days=form.cleaned_data["days"],
            )
        except DomainError as error:
            attach_error(form, error)
            return _page(request, user, course, status=error.status, bound={"link": form})
        if form.cleaned_data["channel"] == "console":
            # The demo has no mailbox: show the link once to the member of staff who made it.
            request.session["portal_secret_shown"] = f"/p/{secret}/"
        messages.success(request, "A new link was sent; any earlier link no longer works.")
        return redirect("outcomes:course", course_id=course.public_id)
    return _page(request, user, course, status=422, bound={"link": form})


@login_required
@require_POST
def link_revoke(request: HttpRequest, course_id: str) -> HttpResponse:
    user = _user(request)
    course = access_course(user=user, course_id=course_id)
    link = PortalLink.objects.filter(course=course, revoked_at__isnull=True).first()
    form = RevokeForm(request.POST)
    if link is None or not form.is_valid():
        messages.error(request, "Give a reason to revoke the link.")
    else:
        try:
            services.portal_link_revoke(
                actor=actor_for(request), link=link, reason=form.cleaned_data["reason"]
            )
            messages.success(request, "The link no longer works.")
        except DomainError as error:
            messages.error(request, error.message)
    return redirect("outcomes:course", course_id=course.public_id)


@login_required
@require_POST
def safety_acknowledge(request: HttpRequest, alert_id: str) -> HttpResponse:
    user = _user(request)
    alert = selectors.access_safety_alert(user=user, alert_id=alert_id)
    form = SafetyAckForm(request.POST)
    if form.is_valid():
        try:
            services.safety_alert_acknowledge(
                actor=actor_for(request),
                alert=alert,
                action=form.cleaned_data["action"],
                note=form.cleaned_data["note"],
            )
            messages.success(request, "Safety alert acknowledged.")
        except DomainError as error:
            attach_error(form, error)
            return _page(request, user, alert.course, status=error.status, bound={"ack": form})
    else:
        return _page(request, user, alert.course, status=422, bound={"ack": form})
    return redirect("outcomes:course", course_id=alert.course.public_id)


@login_required
@require_POST
def safety_resolve(request: HttpRequest, alert_id: str) -> HttpResponse:
    user = _user(request)
    alert = selectors.access_safety_alert(user=user, alert_id=alert_id)
    form = SafetyResolveForm(request.POST)
    if form.is_valid():
        try:
            services.safety_alert_resolve(
                actor=actor_for(request), alert=alert, note=form.cleaned_data["note"]
            )
            messages.success(request, "Safety alert resolved.")
        except DomainError as error:
            attach_error(form, error)
            return _page(request, user, alert.course, status=error.status, bound={"resolve": form})
    else:
        return _page(request, user, alert.course, status=422, bound={"resolve": form})
    return redirect("outcomes:course", course_id=alert.course.public_id)


@login_required
@require_POST
def response_error(request: HttpRequest, response_id: str) -> HttpResponse:
    user = _user(request)
    response = selectors.access_response(user=user, response_id=response_id)
    form = ErrorForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason the form was entered in error.")
    else:
        try:
            services.response_mark_error(
                actor=actor_for(request), response=response, reason=form.cleaned_data["reason"]
            )
            messages.success(request, "Marked as entered in error; it stays on record.")
        except DomainError as error:
            messages.error(request, error.message)
    return redirect("outcomes:course", course_id=response.course.public_id)


@login_required
@require_safe
def site_outcomes(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    site = access_site(user=user, site_id=site_id, roles=READ_ROLES)
    worsening = request.GET.get("worsening") == "1"
    return render(
        request,
        "outcomes/site.html",
        {
            "site": site,
            "rows": selectors.site_outcomes(site, worsening_only=worsening),
            "worsening": worsening,
            "alerts": selectors.open_safety_alerts(site),
            "open_status": SafetyAlertStatus.OPEN,
        },
    )


@login_required
@require_POST
def request_create(request: HttpRequest, course_id: str) -> HttpResponse:
    user = _user(request)
    course = access_course(user=user, course_id=course_id)
    form = FormRequestForm(request.POST, instruments=_patient_instruments())
    if not form.is_valid():
        return _page(request, user, course, status=422, bound={"request": form})
    try:
        services.form_request_create(
            actor=actor_for(request),
            course=course,
            instrument=form.cleaned_data["instrument"],
            due_on=form.cleaned_data["due_on"],
            note=form.cleaned_data["note"],
        )
    except DomainError as error:
        attach_error(form, error)
        return _page(request, user, course, status=error.status, bound={"request": form})
    messages.success(request, "Requested: it appears in the patient's portal from its date.")
    return redirect("outcomes:course", course_id=course.public_id)
