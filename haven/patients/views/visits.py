"""A visit: recording it, and its note (autosaved draft, signed and locked, addenda)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from haven.accounts.actors import actor_for
from haven.accounts.forms import SignForm
from haven.accounts.models import Site, User
from haven.accounts.selectors import roles_for, staff_list
from haven.audit.signatures import signatures_for, signatures_for_many
from haven.core.errors import ValidationFailed
from haven.core.time import local
from haven.patients import selectors, services
from haven.patients.forms import (
    AddendumForm,
    VisitMissedForm,
    VisitNoteForm,
    VisitOccurrenceForm,
)
from haven.patients.models import (
    Visit,
    VisitNote,
    VisitStatus,
)
from haven.patients.roles import (
    NOTE_ROLES,
    VISIT_ROLES,
)
from haven.patients.views.common import (
    VISIT_BADGE,
    _htmx,
    _run,
    _today,
    _user,
)
from haven.protocols.selectors import protocol_of


# Visits and their notes ---------------------------------------------------------------------------
def _staff(site: Site) -> dict[str, User]:
    return {str(m.user.public_id): m.user for m in staff_list(site=site)}


def _note_form(visit: Visit, note: VisitNote | None, data: Any = None) -> VisitNoteForm:
    site = visit.course.site
    headings = protocol_of(visit.course.protocol_version).visit(visit.definition_code).note_template
    staff = [
        (str(m.user.public_id), f"{m.user.printed_name} ({m.role_labels})") for m in staff_list(site=site)
    ]
    if note is None:
        initial: dict[str, Any] = {"duration_minutes": visit.planned_minutes}
    else:
        initial = VisitNoteForm.initial_for(headings, note.sections) | {
            "free_text": note.free_text,
            "attendees": [str(u.public_id) for u in note.attendees.all()],
            "duration_minutes": note.duration_minutes,
        }
    return VisitNoteForm(data, initial=initial, headings=headings, staff=staff)


def _visit_page(
    request: HttpRequest,
    user: User,
    visit: Visit,
    *,
    status: int = 200,
    bound: Mapping[str, forms.Form] | None = None,
) -> HttpResponse:
    bound = bound or {}
    course = visit.course
    site = course.site
    roles = roles_for(user, site)
    today = _today(site)
    can_read_note = selectors.may_read_note(user, visit)
    note = selectors.access_note(user=user, visit=visit) if can_read_note else None
    locked = note is not None and note.locked_at is not None
    can_write_note = can_read_note and bool(roles & NOTE_ROLES)
    addenda = list(note.addenda.select_related("author")) if note is not None else []
    addendum_signatures = signatures_for_many(addenda)
    definition = protocol_of(course.protocol_version).visit(visit.definition_code)
    context = {
        "visit": visit,
        "course": course,
        "patient": course.patient,
        "site": site,
        "definition": definition,
        "badge": VISIT_BADGE.get(VisitStatus(visit.status), ""),
        "deviations": list(visit.deviations.all()),
        "can_record": bool(roles & VISIT_ROLES) and visit.status == VisitStatus.PLANNED,
        "occurrence_form": bound.get("occurrence") or VisitOccurrenceForm(initial={"occurred_on": today}),
        "missed_form": bound.get("missed") or VisitMissedForm(),
        "can_read_note": can_read_note,
        "note": note,
        "locked": locked,
        "note_form": (bound.get("note") or _note_form(visit, note))
        if can_write_note and not locked
        else None,
        "sign_form": bound.get("sign") or SignForm(auto_id="id_sign_%s"),
        "addendum_form": (bound.get("addendum") or AddendumForm(auto_id="id_addendum_%s"))
        if can_write_note and locked
        else None,
        "sections": [(h, note.sections.get(h, "")) for h in definition.note_template] if note else [],
        "signatures": signatures_for(note) if locked and note is not None else [],
        "addenda": [(a, addendum_signatures[a.public_id]) for a in addenda],
    }
    return render(request, "patients/visit.html", context, status=status)


@login_required
def visit_detail(request: HttpRequest, visit_id: str) -> HttpResponse:
    user = _user(request)
    return _visit_page(request, user, selectors.access_visit(user=user, visit_id=visit_id))


def _visit_action(
    request: HttpRequest,
    visit_id: str,
    name: str,
    make_form: Callable[[Visit], forms.Form],
    call: Callable[[Visit, dict[str, Any]], str],
) -> HttpResponse:
    user = _user(request)
    visit = selectors.access_visit(user=user, visit_id=visit_id)
    form = make_form(visit)
    done: list[str] = []
    status = _run(form, lambda data: done.append(call(visit, data)))
    if status is not None:
        return _visit_page(request, user, visit, status=status, bound={name: form})
    messages.success(request, done[0])
    return redirect("patients:visit", visit_id=visit.public_id)


@login_required
@require_POST
def visit_occurrence(request: HttpRequest, visit_id: str) -> HttpResponse:
    def record(visit: Visit, data: dict[str, Any]) -> str:
        services.visit_record_occurrence(
            actor=actor_for(request), visit=visit, occurred_on=data["occurred_on"]
        )
        if visit.deviations.exists():
            return "Recorded. It fell outside its window, so a protocol deviation was recorded."
        return "Recorded; the visits that depend on it are re-planned."

    return _visit_action(request, visit_id, "occurrence", lambda _: VisitOccurrenceForm(request.POST), record)


@login_required
@require_POST
def visit_missed(request: HttpRequest, visit_id: str) -> HttpResponse:
    def missed(visit: Visit, data: dict[str, Any]) -> str:
        services.visit_mark_missed(actor=actor_for(request), visit=visit, reason=data["reason"])
        return "Marked missed; a protocol deviation was recorded."

    return _visit_action(request, visit_id, "missed", lambda _: VisitMissedForm(request.POST), missed)


@login_required
@require_POST
def note_save(request: HttpRequest, visit_id: str) -> HttpResponse:
    """Save the draft note: autosaved by htmx (answering "Saved at …"), or a plain post."""
    user = _user(request)
    visit = selectors.access_visit(user=user, visit_id=visit_id)
    form = _note_form(visit, None, request.POST)
    saved: list[VisitNote] = []

    def save(data: dict[str, Any]) -> None:
        staff = _staff(visit.course.site)
        saved.append(
            services.visit_note_save(
                actor=actor_for(request),
                visit=visit,
                sections=form.sections(),
                free_text=data["free_text"],
                attendees=[staff[key] for key in data["attendees"]],
                duration_minutes=data["duration_minutes"],
            )
        )

    status = _run(form, save)
    if _htmx(request):
        saved_at = local(saved[0].updated_at, visit.course.site.time_zone).strftime("%H:%M") if saved else ""
        context = {"form": form, "saved_at": saved_at}
        return render(request, "patients/partials/note_saved.html", context, status=status or 200)
    if status is not None:
        return _visit_page(request, user, visit, status=status, bound={"note": form})
    messages.success(request, "Draft note saved.")
    return redirect("patients:visit", visit_id=visit.public_id)


def _note_of(user: User, visit: Visit) -> VisitNote:
    note = selectors.access_note(user=user, visit=visit)
    if note is None:
        raise ValidationFailed("Save the note before signing it.", code="note_missing")
    return note


@login_required
@require_POST
def note_sign(request: HttpRequest, visit_id: str) -> HttpResponse:
    def sign(visit: Visit, data: dict[str, Any]) -> str:
        services.visit_note_sign(
            actor=actor_for(request),
            note=_note_of(_user(request), visit),
            password=data["password"],
            otp_code=data["otp_code"],
        )
        return "Note signed and locked; the visit is completed."

    return _visit_action(
        request, visit_id, "sign", lambda _: SignForm(request.POST, auto_id="id_sign_%s"), sign
    )


@login_required
@require_POST
def note_addendum(request: HttpRequest, visit_id: str) -> HttpResponse:
    def add(visit: Visit, data: dict[str, Any]) -> str:
        services.visit_note_addendum(
            actor=actor_for(request),
            note=_note_of(_user(request), visit),
            text=data["text"],
            password=data["password"],
            otp_code=data["otp_code"],
        )
        return "Addendum signed and added."

    return _visit_action(
        request, visit_id, "addendum", lambda _: AddendumForm(request.POST, auto_id="id_addendum_%s"), add
    )
