"""The patient portal: phone-first pages that show a patient their own due forms and nothing else.

The link's secret is exchanged at once for a portal session (the secret leaves the address bar);
the session holds only the link's id and whether the second factor was given. Every page re-checks
that the link is still live. Staff sign-in plays no part here.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from haven.core.errors import DomainError, NotFound
from haven.core.time import today_at
from haven.outcomes import scoring, services
from haven.outcomes.forms import SecondFactorForm
from haven.outcomes.models import DEFAULT_CRISIS_TEXT, PortalLink, SecondFactor
from haven.outcomes.schedule import portal_forms
from haven.outcomes.scoring import YES_NO

SESSION_LINK = "portal_link"
SESSION_VERIFIED = "portal_verified"
SESSION_FLAGGED = "portal_flagged"


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _link(request: HttpRequest) -> PortalLink:
    link_id = request.session.get(SESSION_LINK)
    if not link_id or not request.session.get(SESSION_VERIFIED):
        raise NotFound("Open the link the clinic sent you.")
    return services.portal_live(int(link_id))


def _render(
    request: HttpRequest, template: str, link: PortalLink | None, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    contact, crisis = services.portal_text(link.course.site) if link else ("", DEFAULT_CRISIS_TEXT)
    response = render(
        request,
        template,
        {"link": link, "site": link.course.site if link else None, "contact": contact, "crisis": crisis}
        | context,
        status=status,
    )
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = (
        "same-origin"  # "no-referrer" makes browsers send Origin: null, failing CSRF
    )
    return response


@require_safe
def enter(request: HttpRequest, secret: str) -> HttpResponse:
    try:
        link = services.portal_open(secret)
    except NotFound as error:
        return _render(request, "outcomes/portal/invalid.html", None, {"message": error.message}, status=404)
    request.session.cycle_key()
    request.session[SESSION_LINK] = link.pk
    request.session[SESSION_VERIFIED] = link.second_factor == SecondFactor.NONE
    return redirect("portal:home")


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    link_id = request.session.get(SESSION_LINK)
    if not link_id:
        return _render(
            request,
            "outcomes/portal/invalid.html",
            None,
            {"message": "Open the link the clinic sent you."},
            status=404,
        )
    try:
        link = services.portal_live(int(link_id))
    except NotFound as error:
        return _render(request, "outcomes/portal/invalid.html", None, {"message": error.message}, status=404)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.portal_verify(link=link, value=form.cleaned_data["value"], ip=_ip(request)):
            request.session[SESSION_VERIFIED] = True
            return redirect("portal:home")
        link.refresh_from_db()
        if link.revoked_at is not None:
            return _render(
                request,
                "outcomes/portal/invalid.html",
                None,
                {
                    "message": "Too many wrong answers: this link no longer works. Ask the clinic for a new one."
                },
                status=404,
            )
        form.add_error("value", "That does not match our records. Try again.")
    return _render(
        request,
        "outcomes/portal/verify.html",
        link,
        {
            "form": form,
            "asks": "date of birth" if link.second_factor == SecondFactor.DATE_OF_BIRTH else "PIN",
        },
        status=422 if form.errors else 200,
    )


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    link_id = request.session.get(SESSION_LINK)
    if link_id and not request.session.get(SESSION_VERIFIED):
        return redirect("portal:verify")
    try:
        link = _link(request)
    except NotFound as error:
        return _render(request, "outcomes/portal/invalid.html", None, {"message": error.message}, status=404)
    course = link.course
    today = today_at(course.site.time_zone)
    waiting = portal_forms(course, today)
    from haven.safety.services import solicited_due

    return _render(
        request,
        "outcomes/portal/home.html",
        link,
        {
            "forms": waiting,
            "effects": solicited_due(course, today),
            "flagged": request.session.pop(SESSION_FLAGGED, False),
        },
    )


@require_http_methods(["GET", "POST"])
def effects(request: HttpRequest, key: str) -> HttpResponse:
    """The side-effects checklist after a session: "none of these", or yes/no for every effect."""
    from haven.safety.services import solicited_due, solicited_record_portal
    from haven.safety.solicited import EFFECTS

    try:
        link = _link(request)
    except NotFound as error:
        return _render(request, "outcomes/portal/invalid.html", None, {"message": error.message}, status=404)
    course = link.course
    due = next((d for d in solicited_due(course, today_at(course.site.time_zone)) if d.key == key), None)
    if due is None:
        return _render(
            request,
            "outcomes/portal/invalid.html",
            link,
            {"message": "This checklist is not waiting for you."},
            status=404,
        )
    chosen: dict[str, str] = {}
    errors: list[str] = []
    if request.method == "POST":
        none = request.POST.get("none") == "1"
        chosen = {code: request.POST.get(code, "") for code, _ in EFFECTS}
        answers = {code: value == "yes" for code, value in chosen.items() if value in ("yes", "no")}
        try:
            solicited_record_portal(
                actor=services.portal_actor(
                    link, ip=_ip(request), user_agent=request.headers.get("User-Agent", "")[:300]
                ),
                course=course,
                key=key,
                none_reported=none,
                answers={} if none else answers,
            )
        except DomainError as error:
            errors = [error.message]
        else:
            request.session[SESSION_FLAGGED] = bool(answers.get("suicidal_thoughts")) and not none
            return redirect("portal:home")
    return _render(
        request,
        "outcomes/portal/effects.html",
        link,
        {
            "due": due,
            "effects": EFFECTS,
            "chosen": chosen,
            "errors": errors,
            "yes_no": [("yes", "Yes"), ("no", "No")],
        },
        status=422 if errors else 200,
    )


@require_http_methods(["GET", "POST"])
def form(request: HttpRequest, instrument: str, key: str) -> HttpResponse:
    try:
        link = _link(request)
    except NotFound as error:
        return _render(request, "outcomes/portal/invalid.html", None, {"message": error.message}, status=404)
    course = link.course
    match = next(
        (
            f
            for f in portal_forms(course, today_at(course.site.time_zone))
            if f.instrument == instrument and f.key == key
        ),
        None,
    )
    if match is None:
        return _render(
            request,
            "outcomes/portal/invalid.html",
            link,
            {"message": "This form is not waiting for you."},
            status=404,
        )
    answers: dict[str, Any] = services.portal_draft(link, instrument, key)
    errors: dict[str, list[str]] = {}
    saved = False
    if request.method == "POST":
        answers = scoring.parse_form(instrument, request.POST)
        if request.POST.get("action") == "save":
            services.portal_draft_save(link=link, instrument=instrument, key=key, answers=answers)
            saved = True
        else:
            try:
                response = services.portal_submit(
                    link=link,
                    instrument=instrument,
                    key=key,
                    answers=answers,
                    ip=_ip(request),
                    user_agent=request.headers.get("User-Agent", "")[:300],
                )
            except DomainError as error:
                errors = error.fields or {"__all__": [error.message]}
            else:
                request.session[SESSION_FLAGGED] = response.safety_alerts.exists()
                return redirect("portal:home")
    return _render(
        request,
        "outcomes/portal/form.html",
        link,
        {
            "due": match,
            "instrument": scoring.definition(instrument),
            "items": scoring.items(instrument),
            "answers": {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in answers.items()},
            "errors": errors,
            "saved": saved,
            "yes_no_choices": YES_NO,
        },
        status=422 if errors else 200,
    )


@require_http_methods(["POST"])
def leave(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return _render(request, "outcomes/portal/left.html", None, {})
