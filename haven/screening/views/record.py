"""The screening page: the record in sections, each with its add form, and the eligibility panel.

With htmx a post answers with the section it changed and, out of band, the eligibility panel;
without, it redirects back to the page (or shows it again with the errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from haven.accounts.actors import actor_for
from haven.accounts.models import User
from haven.accounts.selectors import roles_for
from haven.audit.context import Actor
from haven.core.errors import DomainError, NotFound
from haven.patients.models import EnrollmentCourse
from haven.patients.selectors import access_course
from haven.screening import selectors, services
from haven.screening.forms import (
    EntryErrorForm,
    MeasurementsForm,
    SectionCompleteForm,
    psychiatric_label,
    unit_label,
)
from haven.screening.models import SECTIONS
from haven.screening.views.common import (
    SECTION_TITLES,
    Bound,
    in_site_time,
    is_htmx,
    may_enter,
    posted_form,
    rename_fields,
    run,
    section_of,
    sections,
    user_of,
)
from haven.screening.views.panel import panel


def page_response(
    request: HttpRequest,
    user: User,
    course: EnrollmentCourse,
    *,
    status: int = 200,
    bound: Mapping[str, Bound] | None = None,
    override_form: forms.Form | None = None,
) -> HttpResponse:
    roles = roles_for(user, course.site)
    context = {
        "course": course,
        "patient": course.patient,
        "site": course.site,
        "sections": sections(course, roles, bound=bound),
        "panel": panel(course, roles, bound=override_form),
        "can_enter": may_enter(course, roles),
        "screening_open": course.status in services.OPEN_STATUSES,
    }
    return render(request, "screening/page.html", context, status=status)


def _section_answer(
    request: HttpRequest,
    user: User,
    course: EnrollmentCourse,
    section: str,
    bound: Bound,
    *,
    status: int | None,
) -> HttpResponse:
    """The answer to a section's post: the partial for htmx, else a redirect or the page again."""
    if is_htmx(request):
        roles = roles_for(user, course.site)
        context = {
            "course": course,
            "section": sections(course, roles, only=section, bound={section: bound})[0],
            "panel": panel(course, roles),
        }
        return render(request, "screening/partials/section_response.html", context, status=status or 200)
    if status is not None:
        return page_response(request, user, course, status=status, bound={section: bound})
    messages.success(request, bound.saved)
    return redirect(reverse("screening:page", args=[course.public_id]) + f"#section-{section}")


@login_required
@require_GET
def screening_page(request: HttpRequest, course_id: str) -> HttpResponse:
    user = user_of(request)
    course = access_course(user=user, course_id=course_id)
    with in_site_time(course):
        return page_response(request, user, course)


def _section(section: str) -> str:
    if section not in SECTIONS:
        raise NotFound("No such screening section.")
    return section


def _save_simple(actor: Actor, course: EnrollmentCourse, section: str, data: dict[str, Any]) -> str:
    if section in ("medical_history", "psychiatric_history"):
        item = services.history_add(
            actor=actor,
            course=course,
            condition=data["condition"],
            category=data.get("category") or "psychiatric",
            code=data.get("code") or "",
            onset=data["onset"],
            current=data["current"],
        )
        kind = psychiatric_label(item.code) if item.code else item.category
        return f"Added {item.condition} ({kind})."
    if section == "psychedelic_use":
        use = services.psychedelic_use_add(
            actor=actor,
            course=course,
            substance=data["substance"],
            lifetime_count=data["lifetime_count"],
            last_use=data["last_use"],
            clinical=data["clinical"],
        )
        return f"Added {use.substance}."
    medication = services.medication_add(
        actor=actor,
        course=course,
        name=data["name"],
        drug_class=data["drug_class"],
        dose=data["dose"],
        start=data["start"],
        stop=data["stop"],
    )
    return f"Added {medication.name}."


def _save_measurements(actor: Actor, course: EnrollmentCourse, form: MeasurementsForm) -> str:
    """Every value of the form, or none: one refused value undoes the others."""
    added: list[str] = []
    with transaction.atomic():
        for m in form.measured():
            try:
                entry = services.measurement_add(
                    actor=actor,
                    course=course,
                    field=m.field,
                    value=m.value,
                    unit=m.unit,
                    measured_at=form.cleaned_data["measured_at"],
                    reference_low=m.reference_low,
                    reference_high=m.reference_high,
                )
            except DomainError as error:
                names = {
                    "value": m.field,
                    "unit": f"{m.field}_unit",
                    "field": m.field,
                    "reference_low": f"{m.field}_low",
                    "reference_high": f"{m.field}_high",
                }
                raise rename_fields(error, names) from None
            added.append(f"{services.FIELDS[m.field].label} {m.value} {unit_label(entry.unit)}")
        for name, value in form.flags():
            try:
                services.flag_set(actor=actor, course=course, name=name, value=value)
            except DomainError as error:
                raise rename_fields(error, {"name": name, "value": name}) from None
            added.append(f"{form.fields[name].label}: {'yes' if value else 'no'}")
        risk = form.cleaned_data.get("cssrs_risk")
        if risk:
            try:
                services.cssrs_set(actor=actor, course=course, risk=risk)
            except DomainError as error:
                raise rename_fields(error, {"risk": "cssrs_risk"}) from None
            added.append(f"C-SSRS risk {risk}")
    return "Saved: " + ", ".join(added) + "."


@login_required
@require_POST
def section_add(request: HttpRequest, course_id: str, section: str) -> HttpResponse:
    user = user_of(request)
    course = access_course(user=user, course_id=course_id)
    section = _section(section)
    actor = actor_for(request)
    with in_site_time(course):
        form = posted_form(course, section, roles_for(user, course.site), request.POST)
        saved: list[str] = []

        def call(data: dict[str, Any]) -> None:
            if isinstance(form, MeasurementsForm):
                saved.append(_save_measurements(actor, course, form))
            else:
                saved.append(_save_simple(actor, course, section, data))

        status = run(form, call)
        bound = Bound(add=form if status is not None else None, saved=saved[0] if saved else "")
        return _section_answer(request, user, course, section, bound, status=status)


@login_required
@require_POST
def section_complete(request: HttpRequest, course_id: str, section: str) -> HttpResponse:
    user = user_of(request)
    course = access_course(user=user, course_id=course_id)
    section = _section(section)
    with in_site_time(course):
        form = SectionCompleteForm(request.POST, auto_id=f"id_done_{section}_%s")
        done: list[bool] = []

        def mark(data: dict[str, Any]) -> None:
            services.section_mark(
                actor=actor_for(request), course=course, section=section, complete=data["complete"]
            )
            done.append(data["complete"])

        status = run(form, mark)
        title = SECTION_TITLES[section]
        saved = "" if not done else f"{title} marked {'complete' if done[0] else 'not complete'}."
        bound = Bound(complete=form if status is not None else None, saved=saved)
        return _section_answer(request, user, course, section, bound, status=status)


@login_required
@require_POST
def entry_error(request: HttpRequest, course_id: str, kind: str, entry_id: str) -> HttpResponse:
    user = user_of(request)
    course = access_course(user=user, course_id=course_id)
    entry = selectors.access_entry(course=course, kind=kind, entry_id=entry_id)
    section = section_of(entry)
    with in_site_time(course):
        form = EntryErrorForm(request.POST, auto_id=f"id_err_{entry.public_id.hex[:8]}_%s")
        status = run(
            form,
            lambda data: services.entry_mark_error(
                actor=actor_for(request), entry=entry, reason=data["reason"]
            ),
        )
        bound = Bound(
            errors={entry.public_id: form} if status is not None else {},
            saved="" if status is not None else "Marked entered in error; it no longer counts.",
        )
        return _section_answer(request, user, course, section, bound, status=status)
