"""The patient's randomization page: randomize once at enrollment, see the allocation (the arm only
when unblinded, the kit to dispense always), and a physician's signed emergency unblinding.

Every write goes through ``haven.trials.services``; the page never says more about the arm than
``arm_for`` allows, and its refusals are the services' own (worded without the arm)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from haven.accounts.actors import actor_for
from haven.accounts.forms import SignForm
from haven.accounts.models import Role, User
from haven.accounts.selectors import roles_for
from haven.core.errors import DomainError
from haven.core.forms import attach_error
from haven.patients.models import EnrollmentCourse
from haven.patients.selectors import access_course
from haven.trials import services
from haven.trials.models import Randomization, Study


class RandomizeForm(forms.Form):
    """One field per stratification factor besides the site (the site is the course's own)."""

    def __init__(self, *args: Any, factors: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for factor in factors:
            self.fields[factor] = forms.CharField(
                label=factor.replace("_", " ").capitalize(),
                max_length=60,
                help_text="The value recorded at screening; it chooses the stratum.",
            )

    def factors(self) -> dict[str, str]:
        return {name: str(value).strip() for name, value in self.cleaned_data.items()}


class UnblindForm(SignForm):
    reason = forms.CharField(
        label="Why this patient must be unblinded now",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Emergency unblinding is for the patient's care only. The sponsor's monitors and the "
        "study's statisticians are told at once.",
    )
    field_order = ["reason", "password", "otp_code"]


def _context(user: User, course: EnrollmentCourse) -> dict[str, Any]:
    study = Study.objects.filter(protocol_code=course.protocol_code).first()
    randomization = (
        Randomization.objects.filter(course=course)
        .select_related("study", "slot", "kit", "course__site")
        .first()
    )
    roles = roles_for(user, course.site)
    return {
        "course": course,
        "patient": course.patient,
        "study": study,
        "randomization": randomization,
        "arm": services.arm_for(user, randomization) if randomization else None,
        "factors": [f for f in (study.factors if study else []) if f != "site"],
        "can_randomize": bool(
            study
            and randomization is None
            and roles & services.RANDOMIZE_ROLES
            and course.status in services.ON_STUDY
        ),
        "can_unblind": bool(randomization and Role.PHYSICIAN in roles),
        "unblindings": list(randomization.unblindings.select_related("physician")) if randomization else [],
    }


@login_required
@require_http_methods(["GET", "POST"])
def randomization_page(request: HttpRequest, course_id: str) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    course = access_course(user=user, course_id=course_id)
    context = _context(user, course)
    form = RandomizeForm(request.POST or None, factors=context["factors"], auto_id="id_rand_%s")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.randomize(actor=actor_for(request), course=course, factors=form.factors())
            except DomainError as error:
                attach_error(form, _factor_fields(error))
                status = error.status
            else:
                messages.success(request, "Randomized. Dispense the kit shown; the arm stays concealed.")
                return redirect("trials:randomization", course_id=course.public_id)
        else:
            status = 422
    return render(
        request,
        "trials/randomization.html",
        context | {"form": form, "unblind_form": UnblindForm(auto_id="id_unblind_%s")},
        status=status,
    )


def _factor_fields(error: DomainError) -> DomainError:
    """The service names a missing factor ``factors.<name>``; the form's field is ``<name>``."""
    error.fields = {key.removeprefix("factors."): value for key, value in error.fields.items()}
    return error


@login_required
@require_http_methods(["POST"])
def unblind_page(request: HttpRequest, course_id: str) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    course = access_course(user=user, course_id=course_id)
    context = _context(user, course)
    form = UnblindForm(request.POST, auto_id="id_unblind_%s")
    status = 422
    if context["randomization"] is not None and form.is_valid():
        try:
            services.emergency_unblind(
                actor=actor_for(request),
                randomization=context["randomization"],
                reason=form.cleaned_data["reason"],
                password=form.cleaned_data["password"],
                otp_code=form.cleaned_data["otp_code"],
            )
        except DomainError as error:
            attach_error(form, error)
            status = error.status
        else:
            messages.warning(request, "Unblinded for this patient's care. The sponsor has been told.")
            return redirect("trials:randomization", course_id=course.public_id)
    elif context["randomization"] is None:
        form.add_error(None, "This patient is not randomized.")
        status = 404
    return render(
        request,
        "trials/randomization.html",
        context
        | {"form": RandomizeForm(factors=context["factors"], auto_id="id_rand_%s"), "unblind_form": form},
        status=status,
    )
