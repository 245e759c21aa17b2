"""Eligibility: a physician's override of a criterion, the evaluation history, the printable summary."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from haven.accounts.actors import actor_for
from haven.accounts.selectors import roles_for
from haven.core.time import now
from haven.patients.selectors import access_course
from haven.protocols.selectors import protocol_of
from haven.screening import selectors, services
from haven.screening.forms import OverrideForm
from haven.screening.models import Overall
from haven.screening.views.common import (
    in_site_time,
    is_htmx,
    run,
    user_of,
    when,
)
from haven.screening.views.panel import OVERALL_BADGES, overall_label, panel
from haven.screening.views.record import page_response

# The history lists the newest evaluations; every change of the record makes one.
HISTORY_LIMIT = 500


@login_required
@require_POST
def eligibility_override(request: HttpRequest, course_id: str) -> HttpResponse:
    user = user_of(request)
    course = access_course(user=user, course_id=course_id)
    codes = {c.code for c in protocol_of(course.protocol_version).eligibility}
    posted = request.POST.get("criterion_code", "")
    # Field ids follow the criterion, so the refused form lands where it was filled in.
    auto_id = f"id_ov_{posted}_%s" if posted in codes else "id_ov_%s"
    with in_site_time(course):
        form = OverrideForm(request.POST, auto_id=auto_id)
        done: list[str] = []

        def override(data: dict[str, Any]) -> None:
            services.eligibility_override(
                actor=actor_for(request),
                course=course,
                criterion_code=data["criterion_code"],
                reason=data["reason"],
                password=data["password"],
                otp_code=data["otp_code"],
            )
            done.append(data["criterion_code"])

        status = run(form, override)
        saved = f"Override of {done[0]} signed and recorded." if done else ""
        if is_htmx(request):
            roles = roles_for(user, course.site)
            context = {
                "course": course,
                "panel": panel(course, roles, bound=form if status is not None else None, saved=saved),
            }
            return render(request, "screening/partials/eligibility.html", context, status=status or 200)
        if status is not None:
            return page_response(request, user, course, status=status, override_form=form)
        messages.success(request, saved)
        return redirect(reverse("screening:page", args=[course.public_id]) + "#eligibility")


@login_required
@require_GET
def eligibility_history(request: HttpRequest, course_id: str) -> HttpResponse:
    user = user_of(request)
    course = access_course(user=user, course_id=course_id)
    tz = course.site.time_zone
    evaluations = list(selectors.eligibility_history(course)[:HISTORY_LIMIT])
    rows = [
        {
            "at": when(e.created_at, tz),
            "on": when(e.evaluated_on, tz),
            "overall": overall_label(e.overall, e.eligible_from),
            "badge": OVERALL_BADGES[Overall(e.overall)],
            "trigger": e.trigger,
            "protocol": e.protocol_version,
        }
        for e in evaluations
    ]
    context = {
        "course": course,
        "patient": course.patient,
        "rows": rows,
        "limited": len(evaluations) == HISTORY_LIMIT,
    }
    return render(request, "screening/history.html", context)


@login_required
@require_GET
def eligibility_summary(request: HttpRequest, course_id: str) -> HttpResponse:
    """One printable page for the physician's sign-off. It names the patient by study ID only."""
    user = user_of(request)
    course = access_course(user=user, course_id=course_id)
    with in_site_time(course):
        # Read-only: no override forms, whoever prints it.
        context = {
            "course": course,
            "patient": course.patient,
            "panel": panel(course, frozenset()),
            "printed_at": when(now(), course.site.time_zone),
        }
        return render(request, "screening/summary.html", context)
