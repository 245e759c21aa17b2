"""Taking consent on a tablet, and the site's consent documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from haven.accounts.actors import actor_for
from haven.accounts.models import Site
from haven.accounts.selectors import access_site, roles_for
from haven.core.errors import DomainError, PermissionDenied, field_error
from haven.core.time import now
from haven.patients import selectors, services
from haven.patients.forms import (
    ConsentDocumentUploadForm,
    ConsentForm,
)
from haven.patients.models import (
    ConsentDocument,
)
from haven.patients.roles import (
    CONSENT_ROLES,
)
from haven.patients.views.common import (
    DOCUMENT_ROLES,
    _run,
    _user,
    _version,
    _versions,
)


@login_required
@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest, course_id: str) -> HttpResponse:
    """Consent on a tablet: the patient signs on the pad, then staff countersign."""
    user = _user(request)
    course = selectors.access_course(user=user, course_id=course_id)
    if not roles_for(user, course.site) & CONSENT_ROLES:
        raise PermissionDenied("Taking consent needs the coordinator or physician role at this site.")
    document = services.consent_current_document(site=course.site, protocol_code=course.protocol_code)
    form = ConsentForm(request.POST or None, initial={"document": document.public_id if document else None})

    def record(data: dict[str, Any]) -> None:
        chosen = selectors.access_consent_document(user=user, document_id=data["document"])
        services.consent_record(
            actor=actor_for(request),
            course=course,
            document=chosen,
            patient_printed_name=data["patient_printed_name"],
            patient_signature_svg=data["patient_signature_svg"],
            password=data["password"],
            otp_code=data["otp_code"],
        )

    status = 200
    if request.method == "POST":
        status = _run(form, record) or 0
        if not status:
            messages.success(request, "Consent recorded and countersigned.")
            return redirect("patients:chart", patient_id=course.patient.public_id)
    context = {"course": course, "patient": course.patient, "document": document, "form": form}
    return render(request, "patients/consent.html", context, status=status)


@login_required
def consent_document_file(request: HttpRequest, document_id: str) -> FileResponse:
    document = selectors.access_consent_document(user=_user(request), document_id=document_id)
    return FileResponse(
        document.file.open("rb"),
        content_type="application/pdf",
        filename=Path(document.file.name or "consent.pdf").name,
    )


def _documents(
    request: HttpRequest, site: Site, *, form: ConsentDocumentUploadForm | None = None, status: int = 200
) -> HttpResponse:
    documents = list(selectors.consent_document_list(site=site).select_related("uploaded_by"))
    in_use: dict[str, ConsentDocument] = {}
    for d in sorted((d for d in documents if d.activated_at), key=lambda d: d.activated_at or now()):
        in_use[d.protocol_code] = d  # the latest activation wins
    context = {
        "site": site,
        "rows": [(d, in_use.get(d.protocol_code) == d) for d in documents],
        "form": form or ConsentDocumentUploadForm(versions=_versions()),
    }
    return render(request, "patients/consent_documents.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def consent_documents(request: HttpRequest, site_id: str) -> HttpResponse:
    """The site's consent documents: upload a new version, activate it."""
    site = access_site(user=_user(request), site_id=site_id, roles=DOCUMENT_ROLES)
    if request.method == "GET":
        return _documents(request, site)
    form = ConsentDocumentUploadForm(request.POST, request.FILES, versions=_versions())

    def upload(data: dict[str, Any]) -> None:
        version = _version(data["protocol_version"])
        if version is None:
            raise field_error("protocol_version", "is not loaded")
        upload = data["file"]
        services.consent_document_upload(
            actor=actor_for(request),
            site=site,
            protocol_version=version,
            version_label=data["version_label"],
            title=data["title"],
            content=upload.read(),
            filename=upload.name,
        )

    status = _run(form, upload)
    if status is not None:
        return _documents(request, site, form=form, status=status)
    messages.success(request, "Consent document uploaded. Activate it to put it in use.")
    return redirect("patients:consent_documents", site_id=site.public_id)


@login_required
@require_POST
def consent_document_activate(request: HttpRequest, document_id: str) -> HttpResponse:
    user = _user(request)
    document = selectors.access_consent_document(user=user, document_id=document_id)
    site = access_site(user=user, site_id=document.site.public_id, roles=DOCUMENT_ROLES)
    try:
        services.consent_document_activate(actor=actor_for(request), document=document)
    except DomainError as error:
        messages.error(request, error.message)
        return _documents(request, site, status=error.status)
    messages.success(request, f"{document} is now the consent document in use.")
    return redirect("patients:consent_documents", site_id=site.public_id)
