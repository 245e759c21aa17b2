"""The patient list and registration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from haven.accounts.actors import actor_for
from haven.accounts.selectors import access_site, roles_for
from haven.patients import selectors, services
from haven.patients.forms import (
    PatientRegisterForm,
    PatientSearchForm,
)
from haven.patients.models import (
    Patient,
)
from haven.patients.roles import (
    READ_ROLES,
    REGISTER_ROLES,
)
from haven.patients.views.common import (
    DOCUMENT_ROLES,
    _run,
    _today,
    _user,
)


# The list and registration ------------------------------------------------------------------------
@dataclass(frozen=True)
class ListRow:
    row: selectors.PatientRow
    duplicate_of: str


@login_required
def patient_list(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    site = access_site(user=user, site_id=site_id, roles=READ_ROLES)
    roles = roles_for(user, site)
    form = PatientSearchForm(request.GET or None)
    wanted = form.cleaned_data if form.is_valid() else {}
    rows = selectors.patient_list(
        user=user,
        site=site,
        query=wanted.get("q", ""),
        status=wanted.get("status", ""),
        only_overdue=wanted.get("overdue", False),
        today=_today(site),
    )
    duplicate_ids = {r.patient.possible_duplicate_of_id or 0 for r in rows} - {0}
    study_ids = dict(selectors.patients_for(user).filter(pk__in=duplicate_ids).values_list("pk", "study_id"))
    context = {
        "site": site,
        "form": form,
        "rows": [ListRow(r, study_ids.get(r.patient.possible_duplicate_of_id or 0, "")) for r in rows],
        "can_register": bool(roles & REGISTER_ROLES),
        "can_manage_documents": bool(roles & DOCUMENT_ROLES),
        "can_search_names": selectors.may_see_identity(user, site),
    }
    return render(request, "patients/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def patient_register(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    site = access_site(user=user, site_id=site_id, roles=REGISTER_ROLES)
    form = PatientRegisterForm(request.POST or None)
    registered: list[Patient] = []

    def register(data: dict[str, Any]) -> None:
        values = dict(data)
        sex = values.pop("sex_at_birth")
        registered.append(
            services.patient_register(actor=actor_for(request), site=site, sex_at_birth=sex, **values)
        )

    status = 200
    if request.method == "POST":
        status = _run(form, register) or 0
        if not status:
            messages.success(request, f"Registered {registered[0].study_id}.")
            return redirect("patients:chart", patient_id=registered[0].public_id)
    return render(request, "patients/register.html", {"site": site, "form": form}, status=status)
