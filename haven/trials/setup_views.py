"""The study setup pages: the studies a user may see, a form to set one up, and its setup summary
with the kit-list upload. Reads go through ``selectors``, writes through ``study_create`` and
``kits_load`` (which validate and audit); the pages never show which patient got which arm."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from haven.accounts.actors import actor_for
from haven.accounts.models import User
from haven.accounts.selectors import sites_for
from haven.core.errors import DomainError, PermissionDenied
from haven.trials import selectors, services
from haven.trials.forms import ArmFormSet, KitListForm, StudyForm, study_arms
from haven.trials.models import Study


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
@require_safe
def study_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "trials/study_list.html",
        {"studies": selectors.study_list(user=user), "can_create": selectors.study_setup_allowed(user)},
    )


def _show_error(form: StudyForm, error: DomainError) -> list[str]:
    """Put the service's error next to the field it names; the arms' errors go above the arms."""
    arm_errors: list[str] = []
    placed = False
    for field, problems in error.fields.items():
        name = "statisticians" if field == "statistician_ids" else field
        if name in form.fields:
            for problem in problems:
                form.add_error(name, problem)
            placed = True
        elif name == "arms":
            arm_errors += problems
            placed = True
    if not placed:
        # A conflict ("this protocol already has a study") names no field: it is about the protocol.
        form.add_error("protocol_code" if error.code == "conflict" else None, error.message)
    return arm_errors


@login_required
@require_http_methods(["GET", "POST"])
def study_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not selectors.study_setup_allowed(user):
        raise PermissionDenied("Setting up a study needs the data manager / statistician role.")
    choices: dict[str, Any] = {
        "protocols": selectors.protocol_choices(),
        "statisticians": selectors.statistician_candidates(user=user),
    }
    arm_errors: list[str] = []
    status = 200
    if request.method == "GET":
        form = StudyForm(initial={"statisticians": [user]}, **choices)
        arms = ArmFormSet(prefix="arms")
    else:
        form = StudyForm(request.POST, **choices)
        arms = ArmFormSet(request.POST, prefix="arms")
        status = 422
        # Both are validated, so every mistake shows at once.
        valid = form.is_valid()
        valid = arms.is_valid() and valid
        arm_list = study_arms(form, arms) if valid else []
        if valid and not form.errors:
            data = form.cleaned_data
            try:
                study = services.study_create(
                    actor=actor_for(request),
                    protocol_code=data["protocol_code"],
                    title=data["title"],
                    arms=arm_list,
                    factors=data["factors"],
                    block_multiples=data["block_multiples"],
                    unblinded_roles=data["unblinded_roles"],
                    statisticians=list(data["statisticians"]),
                )
            except DomainError as error:
                arm_errors = _show_error(form, error)
                status = error.status
            else:
                messages.success(request, f"Study {study.protocol_code} set up.")
                return redirect("trials:study", protocol_code=study.protocol_code)
    context = {
        "form": form,
        "arms": arms,
        # Not strict: a tampered row count must not break the page; the rows that came are drawn.
        "arm_rows": list(zip(arms.forms, form["control"], strict=False)),
        "arm_errors": arm_errors,
    }
    return render(request, "trials/study_new.html", context, status=status)


def _kit_form(user: User, data: Any = None, files: Any = None) -> KitListForm:
    own = [(str(site.public_id), f"{site.name} ({site.code})") for site in sites_for(user)]
    return KitListForm(data, files, own_sites=own, sites=selectors.sites_by_code())


def _summary(
    request: HttpRequest, user: User, study: Study, kit_form: KitListForm | None = None, status: int = 200
) -> HttpResponse:
    setup = selectors.study_setup(user=user, study=study)
    context = {
        "setup": setup,
        "study": study,
        "kit_form": kit_form or (_kit_form(user) if setup.unblinded else None),
    }
    return render(request, "trials/study_detail.html", context, status=status)


@login_required
@require_safe
def study_detail(request: HttpRequest, protocol_code: str) -> HttpResponse:
    user = _user(request)
    return _summary(request, user, selectors.access_study(user=user, protocol_code=protocol_code))


@login_required
@require_POST
def kits_upload(request: HttpRequest, protocol_code: str) -> HttpResponse:
    user = _user(request)
    study = selectors.access_study(user=user, protocol_code=protocol_code)
    form = _kit_form(user, request.POST, request.FILES)
    if not form.is_valid():
        return _summary(request, user, study, form, status=422)
    try:
        loaded = services.kits_load(actor=actor_for(request), study=study, rows=form.cleaned_data["rows"])
    except DomainError as error:
        if error.status == 403:
            raise
        for problem in error.fields.get("kits", [error.message]):
            form.add_error("file", problem)
        return _summary(request, user, study, form, status=error.status)
    messages.success(request, f"{loaded} kits loaded.")
    return redirect("trials:study", protocol_code=study.protocol_code)
