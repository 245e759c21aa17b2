"""The study report page and the ADaM-shaped exports, for the study's unblinded statisticians."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from haven.accounts.actors import actor_for
from haven.accounts.models import User
from haven.audit.models import AuditAction
from haven.audit.services import audit_record
from haven.core.errors import NotFound, PermissionDenied
from haven.core.time import now
from haven.trials.adam import study_advs, study_data
from haven.trials.models import Study
from haven.trials.report import study_report


def _study(request: HttpRequest, protocol_code: str) -> tuple[User, Study]:
    user = request.user
    assert isinstance(user, User)
    study = Study.objects.filter(protocol_code=protocol_code).first()
    if study is None or not study.unblinded_statisticians.filter(pk=user.pk).exists():
        raise PermissionDenied("Only the study's unblinded statisticians see the study report.")
    return user, study


@login_required
@require_safe
def report(request: HttpRequest, protocol_code: str) -> HttpResponse:
    user, study = _study(request, protocol_code)
    return render(request, "trials/report.html", study_report(user=user, study=study) | {"printed_at": now()})


@login_required
@require_safe
def report_pdf(request: HttpRequest, protocol_code: str) -> HttpResponse:
    """The same page as ``report``, rendered to PDF on the server and downloaded (an audited export)."""
    # Imported here so that a host without WeasyPrint's Pango still serves every other page.
    from haven.trials.pdf import render_pdf

    user, study = _study(request, protocol_code)
    context = study_report(user=user, study=study) | {"printed_at": now()}
    html = render_to_string("trials/report.html", context, request=request)
    pdf = render_pdf(html=html, base_url=request.build_absolute_uri("/"), snapshot=context["snapshot"])
    audit_record(
        actor=actor_for(request),
        action=AuditAction.EXPORT,
        record_type="trials.report_pdf",
        record_id=str(study.public_id),
        site_id=None,
        changes={"snapshot": {"old": None, "new": context["snapshot"]}},
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{study.protocol_code}-report.pdf"'
    return response


@login_required
@require_safe
def export(request: HttpRequest, protocol_code: str, dataset: str) -> HttpResponse:
    user, study = _study(request, protocol_code)
    if dataset not in ("adsl", "adqs", "adae", "adtte", "advs"):
        raise NotFound("No such dataset.")
    if dataset == "advs":
        frame = study_advs(user=user, study=study)
    else:
        frame = getattr(study_data(user=user, study=study), dataset)
    audit_record(
        actor=actor_for(request),
        action=AuditAction.EXPORT,
        record_type=f"trials.{dataset}",
        record_id=str(study.public_id),
        site_id=None,
        changes={"rows": {"old": None, "new": len(frame)}},
    )
    response = HttpResponse(frame.to_csv(index=False), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{study.protocol_code}-{dataset}.csv"'
    return response
