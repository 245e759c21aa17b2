"""Safety pages: the site's safety page (medical monitor's queue, drafts to review, line listing,
incidence counts), recording and editing an adverse event, its reports and signed assessments, the
solicited-effects checklist, and the audited CSV export.

Every row is loaded through an ``access_*`` selector; every change goes through a service, whose
``DomainError`` is shown next to the field it names. Role checks here only decide what to *offer*.
A blinded rater gets "not found" everywhere. Times are entered and shown in the site's time zone.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from haven.accounts.actors import actor_for
from haven.accounts.models import Site, User
from haven.accounts.selectors import roles_for
from haven.audit.models import AuditAction
from haven.audit.services import audit_record
from haven.audit.signatures import signatures_for_many
from haven.core.errors import DomainError, NotFound, PermissionDenied
from haven.core.forms import attach_error
from haven.core.time import now
from haven.dosing.selectors import access_emergency
from haven.patients.models import EnrollmentCourse
from haven.safety import selectors, services
from haven.safety.aesi import LABELS
from haven.safety.forms import AeEditForm, AeForm, AssessForm, CodeForm, ErrorForm, ReportForm, SolicitedForm
from haven.safety.models import AdverseEvent, AeStatus, CausalityAssessment
from haven.safety.roles import CODING_ROLES, EXPORT_ROLES, MEDICAL_ROLES, RECORD_ROLES
from haven.safety.solicited import EFFECT_LABELS

CSV_COLUMNS = (
    "id",
    "study_id",
    "status",
    "version",
    "verbatim_term",
    "meddra_pt_code",
    "meddra_pt_name",
    "meddra_soc_code",
    "meddra_soc_name",
    "onset_at",
    "resolved_at",
    "minutes_since_dose",
    "severity",
    "ctcae_grade",
    "serious",
    "criteria",
    "awareness_at",
    "relatedness",
    "expected",
    "action_taken",
    "outcome",
    "aesi",
    "reporter_role",
)


def since_text(delta: timedelta | None) -> str:
    """A time since the dose as staff read it: "+50 min", "+2 h 05 min", "+3 d 4 h"; "—" without a dose."""
    if delta is None:
        return "—"
    total = int(delta.total_seconds() // 60)
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"+{days} d {hours} h"
    return f"+{hours} h {mins:02d} min" if hours else f"+{mins} min"


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _run(form: forms.Form, site: Site, call: Callable[[dict[str, Any]], object]) -> int | None:
    """Validate (entered times are the site's wall-clock time) and call the service."""
    with timezone.override(site.time_zone):
        valid = form.is_valid()
    if not valid:
        return 422
    try:
        call(form.cleaned_data)
    except DomainError as error:
        attach_error(form, error)
        return error.status
    return None


# The site's safety page ---------------------------------------------------------------------------
@login_required
def site_safety(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    site = selectors.access_safety_site(user=user, site_id=site_id)
    roles = roles_for(user, site)
    moment = now()
    events = list(selectors.adverse_event_list(site=site).exclude(status=AeStatus.DRAFT))
    context = {
        "site": site,
        "queue": [(c, c.due_at < moment) for c in selectors.clock_queue(site=site)],
        "drafts": selectors.open_reviews(site=site),
        "events": [
            (e, since_text(selectors.time_since_dose(e)), [LABELS[c] for c in e.aesi_categories])
            for e in events
        ],
        "incidence": selectors.incidence(site=site),
        "by_arm": selectors.incidence_by_arm(site=site, user=user),
        "courses": selectors.site_courses(site=site) if roles & RECORD_ROLES else [],
        "can_export": bool(roles & EXPORT_ROLES),
    }
    return render(request, "safety/site.html", context)


@login_required
@require_safe
def safety_overview(request: HttpRequest) -> HttpResponse:
    """All the user's sites at once: for a sponsor monitor or a physician covering several sites."""
    user = _user(request)
    overview = selectors.safety_overview(user=user, moment=now())
    if not overview["sites"]:
        raise NotFound("No site's safety data is open to you.")
    return render(request, "safety/overview.html", overview)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def site_safety_csv(request: HttpRequest, site_id: str) -> StreamingHttpResponse:
    user = _user(request)
    site = selectors.access_safety_site(user=user, site_id=site_id)
    if not roles_for(user, site) & EXPORT_ROLES:
        raise PermissionDenied("Exporting adverse events needs a physician, data, monitoring or audit role.")
    events = list(selectors.adverse_event_list(site=site))
    with transaction.atomic():
        audit_record(
            actor=actor_for(request),
            action=AuditAction.EXPORT,
            record_type="safety.adverseevent",
            record_id=site.public_id,
            site_id=site.public_id,
            changes={"export": {"old": None, "new": f"adverse event line listing CSV, {len(events)} events"}},
        )
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        for e in events:
            since = selectors.time_since_dose(e)
            yield writer.writerow(
                [
                    e.public_id,
                    e.course.patient.study_id,
                    e.status,
                    e.version,
                    e.verbatim_term,
                    e.meddra_pt_code,
                    e.meddra_pt_name,
                    e.meddra_soc_code,
                    e.meddra_soc_name,
                    e.onset_at.isoformat(),
                    e.resolved_at.isoformat() if e.resolved_at else "",
                    "" if since is None else int(since.total_seconds() // 60),
                    e.severity,
                    e.ctcae_grade or "",
                    e.serious,
                    ";".join(e.criteria()),
                    e.awareness_at.isoformat() if e.awareness_at else "",
                    e.relatedness,
                    "" if e.expected is None else e.expected,
                    e.action_taken,
                    e.outcome,
                    ";".join(e.aesi_categories),
                    e.reporter_role,
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="haven-adverse-events-{site.public_id}.csv"'
    return response


# Recording ---------------------------------------------------------------------------------------
def _initial_from(request: HttpRequest, course: EnrollmentCourse) -> tuple[dict[str, Any], dict[str, Any]]:
    """Initial form values and links from ?alert=, ?session= or ?term= (a solicited "yes")."""
    initial: dict[str, Any] = {}
    links: dict[str, Any] = {}
    if alert_id := request.GET.get("alert") or request.POST.get("alert"):
        alert = selectors.course_alert(course=course, alert_id=alert_id)
        data = services.ae_prefill_from_alert(alert)
        initial |= {
            "verbatim_term": data.verbatim_term,
            "onset_at": data.onset_at,
            "description": data.description,
        }
        links |= {"source_alert": alert, "session": alert.session}
    if session_id := request.GET.get("session") or request.POST.get("session"):
        links["session"] = selectors.course_session(course=course, session_id=session_id)
    if term := request.GET.get("term"):
        initial["verbatim_term"] = EFFECT_LABELS.get(term, term)[:300]
    return initial, links


@login_required
def ae_new(request: HttpRequest, course_id: str) -> HttpResponse:
    user = _user(request)
    course = selectors.access_safety_course(user=user, course_id=course_id)
    if not roles_for(user, course.site) & RECORD_ROLES:
        raise PermissionDenied("Recording adverse events needs a clinical role.")
    initial, links = _initial_from(request, course)
    if request.method != "POST":
        form = AeForm(initial=initial)
        return render(
            request, "safety/new.html", {"course": course, "site": course.site, "form": form, "links": links}
        )
    form = AeForm(request.POST)
    created: list[AdverseEvent] = []
    status = _run(
        form,
        course.site,
        lambda _: created.append(
            services.ae_record(
                actor=actor_for(request),
                course=course,
                data=services.AeData(**form.data_kwargs()),
                session=links.get("session"),
                source_alert=links.get("source_alert"),
            )
        ),
    )
    if status is not None:
        context = {"course": course, "site": course.site, "form": form, "links": links}
        return render(request, "safety/new.html", context, status=status)
    messages.success(request, "Adverse event recorded.")
    return redirect("safety:event", event_id=created[0].public_id)


@login_required
@require_POST
def ae_from_emergency(request: HttpRequest, emergency_id: str) -> HttpResponse:
    emergency = access_emergency(user=_user(request), emergency_id=emergency_id)
    event = services.ae_from_emergency(actor=actor_for(request), emergency=emergency)
    messages.success(request, "Draft serious adverse event opened with the emergency's timeline.")
    return redirect("safety:event", event_id=event.public_id)


# One event ---------------------------------------------------------------------------------------
def _edit_initial(event: AdverseEvent) -> dict[str, Any]:
    data = services.data_of(event)
    values: dict[str, Any] = {name: getattr(data, name) for name in services.DATA_FIELDS}
    values["expected"] = (
        {True: "yes", False: "no"}.get(data.expected, "") if data.expected is not None else ""
    )
    return values


def _event_page(
    request: HttpRequest,
    event: AdverseEvent,
    *,
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    event = selectors.access_reload(event)
    site = event.course.site
    roles = roles_for(user, site)
    bound = bound or {}
    assessments = list(
        CausalityAssessment.objects.filter(event=event).select_related("assessor", "event__course__site")
    )
    signatures = signatures_for_many(assessments) if assessments else {}
    moment = now()
    context = {
        "event": event,
        "site": site,
        "since_dose": since_text(selectors.time_since_dose(event)),
        "dose": selectors.latest_dose_before(event),
        "aesi": [LABELS[c] for c in event.aesi_categories],
        "clocks": [
            (c, c.stopped_at is None and c.cancelled_at is None and c.due_at < moment)
            for c in event.clocks.all()
        ],
        "reports": event.reports.select_related("submitted_by"),
        "assessments": [(a, signatures.get(a.public_id, [])) for a in assessments],
        "versions": event.versions.select_related("by"),
        "open": event.status != AeStatus.ENTERED_IN_ERROR,
        "can_record": bool(roles & RECORD_ROLES),
        "can_code": bool(roles & CODING_ROLES),
        "is_medical": bool(roles & MEDICAL_ROLES),
        "edit_form": bound.get("edit") or AeEditForm(initial=_edit_initial(event)),
        "error_form": bound.get("error") or ErrorForm(),
        "code_form": bound.get("code")
        or CodeForm(
            initial={
                "llt_code": event.meddra_llt_code,
                "llt_name": event.meddra_llt_name,
                "pt_code": event.meddra_pt_code,
                "pt_name": event.meddra_pt_name,
                "soc_code": event.meddra_soc_code,
                "soc_name": event.meddra_soc_name,
            }
        ),
        "report_form": bound.get("report") or ReportForm(),
        "assess_form": bound.get("assess") or AssessForm(),
    }
    return render(request, "safety/event.html", context, status=status)


@login_required
def ae_page(request: HttpRequest, event_id: str) -> HttpResponse:
    return _event_page(request, selectors.access_adverse_event(user=_user(request), event_id=event_id))


def _post(
    request: HttpRequest,
    event_id: str,
    name: str,
    form_class: type[forms.Form],
    call: Callable[[AdverseEvent, Any], object],
    done: str,
) -> HttpResponse:
    event = selectors.access_adverse_event(user=_user(request), event_id=event_id)
    form = form_class(request.POST)
    status = _run(form, event.course.site, lambda _: call(event, form))
    if status is not None:
        return _event_page(request, event, bound={name: form}, status=status)
    messages.success(request, done)
    return redirect("safety:event", event_id=event.public_id)


@login_required
@require_POST
def ae_edit(request: HttpRequest, event_id: str) -> HttpResponse:
    def call(event: AdverseEvent, form: AeEditForm) -> object:
        return services.ae_update(
            actor=actor_for(request),
            event=event,
            data=services.AeData(**form.data_kwargs()),
            reason=form.cleaned_data["reason"],
            confirm=form.cleaned_data["confirm"],
        )

    return _post(request, event_id, "edit", AeEditForm, call, "Saved as a new version.")


@login_required
@require_POST
def ae_error(request: HttpRequest, event_id: str) -> HttpResponse:
    def call(event: AdverseEvent, form: ErrorForm) -> object:
        return services.ae_mark_error(
            actor=actor_for(request), event=event, reason=form.cleaned_data["reason"]
        )

    return _post(request, event_id, "error", ErrorForm, call, "Marked as entered in error.")


@login_required
@require_POST
def ae_code(request: HttpRequest, event_id: str) -> HttpResponse:
    def call(event: AdverseEvent, form: CodeForm) -> object:
        return services.ae_code(actor=actor_for(request), event=event, **form.cleaned_data)

    return _post(request, event_id, "code", CodeForm, call, "MedDRA coding saved.")


@login_required
@require_POST
def ae_report(request: HttpRequest, event_id: str) -> HttpResponse:
    def call(event: AdverseEvent, form: ReportForm) -> object:
        return services.sae_report_submit(
            actor=actor_for(request),
            event=event,
            kind=form.cleaned_data["kind"],
            narrative=form.cleaned_data["narrative"],
        )

    return _post(request, event_id, "report", ReportForm, call, "Report recorded.")


@login_required
@require_POST
def ae_assess(request: HttpRequest, event_id: str) -> HttpResponse:
    def call(event: AdverseEvent, form: AssessForm) -> object:
        return services.causality_assess(
            actor=actor_for(request),
            event=event,
            capacity=form.cleaned_data["capacity"],
            relatedness=form.cleaned_data["relatedness"],
            expected=form.expected_value(),
            comment=form.cleaned_data["comment"],
            password=form.cleaned_data["password"],
            otp_code=form.cleaned_data["otp_code"],
        )

    return _post(request, event_id, "assess", AssessForm, call, "Causality assessment signed.")


# Solicited effects -------------------------------------------------------------------------------
@login_required
def solicited(request: HttpRequest, course_id: str) -> HttpResponse:
    user = _user(request)
    course = selectors.access_safety_course(user=user, course_id=course_id)
    can_record = bool(roles_for(user, course.site) & RECORD_ROLES)
    form = SolicitedForm(request.POST or None, time_points=services.time_points_of(course))
    status = 200
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied("Solicited effects are recorded by clinical staff.")
        result = _run(
            form,
            course.site,
            lambda data: services.solicited_record(
                actor=actor_for(request),
                course=course,
                time_point=data["time_point"],
                none_reported=data["none_reported"],
                answers=form.answers(),
            ),
        )
        if result is None:
            messages.success(request, "Checklist recorded.")
            return redirect("safety:solicited", course_id=course.public_id)
        status = result
    checklists = [
        (c, [(code, EFFECT_LABELS[code]) for code, present in c.answers.items() if present])
        for c in selectors.solicited_list(course=course)
    ]
    context = {
        "course": course,
        "site": course.site,
        "form": form,
        "checklists": checklists,
        "can_record": can_record,
    }
    return render(request, "safety/solicited.html", context, status=status)
