"""Site pages: staff and roles, credentials with their review signatures, device tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from haven.accounts import selectors, services
from haven.accounts.actors import actor_for
from haven.accounts.forms import CredentialForm, DeviceTokenCreateForm, SignForm
from haven.accounts.models import AUDIT_READER_ROLES, Role, Site, TokenKind, User
from haven.audit.signatures import signatures_for
from haven.core.errors import DomainError
from haven.core.forms import attach_error


def _site_context(request: HttpRequest, user: User, site: Site) -> dict[str, object]:
    roles = selectors.roles_for(user, site)
    is_admin = Role.SITE_ADMIN in roles
    return {
        "site": site,
        "roles": sorted(r.label for r in roles),
        "is_admin": is_admin,
        "can_read_audit": bool(roles & AUDIT_READER_ROLES),
        "staff": selectors.staff_list(site=site),
        "credentials": selectors.credential_reviews(site=site),
        "device_tokens": [
            t for t in selectors.token_list(user=user) if t.kind == TokenKind.DEVICE and t.site_id == site.pk
        ]
        if is_admin
        else [],
        "credential_form": CredentialForm(initial={"user_id": user.public_id}),
        "sign_form": SignForm(),
        "device_form": DeviceTokenCreateForm(),
    }


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def site_detail(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    site = selectors.access_site(user=user, site_id=site_id)
    return render(request, "accounts/site_detail.html", _site_context(request, user, site))


@login_required
@require_POST
def credential_create(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    site = selectors.access_site(user=user, site_id=site_id)
    form = CredentialForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            holder = selectors.site_member(site=site, user_id=data["user_id"])
            services.credential_create(
                actor=actor_for(request),
                site=site,
                holder=holder,
                kind=data["kind"],
                title=data["title"],
                identifier=data["identifier"],
                issuer=data["issuer"],
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(request, "Credential recorded; a site administrator will review it.")
            return redirect("accounts:site_detail", site_id=site.public_id)
    context = _site_context(request, user, site) | {"credential_form": form}
    return render(request, "accounts/site_detail.html", context, status=422)


@login_required
@require_http_methods(["POST"])
def credential_review(request: HttpRequest, credential_id: str) -> HttpResponse:
    """Sign a credential's review; with htmx, answer with the credential's row re-rendered."""
    user = _user(request)
    credential = selectors.access_credential(user=user, credential_id=credential_id)
    form = SignForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            services.credential_review(
                actor=actor_for(request),
                credential=credential,
                password=form.cleaned_data["password"],
                otp_code=form.cleaned_data["otp_code"],
            )
        except DomainError as error:
            attach_error(form, error)
            status = error.status
        else:
            form = SignForm()
    else:
        status = 422
    context = {
        "credential": credential,
        "signatures": signatures_for(credential),
        "is_admin": selectors.has_role(user, credential.site, Role.SITE_ADMIN),
        "sign_form": form,
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "accounts/partials/credential.html", context, status=status)
    if status == 200:
        messages.success(request, "Review signed.")
    else:
        messages.error(request, "; ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("accounts:site_detail", site_id=credential.site.public_id)


@login_required
@require_POST
def device_token_create(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    site = selectors.access_site(user=user, site_id=site_id, roles=[Role.SITE_ADMIN])
    form = DeviceTokenCreateForm(request.POST)
    context = _site_context(request, user, site)
    status = 200
    if form.is_valid():
        try:
            issued = services.token_create(
                actor=actor_for(request), kind=TokenKind.DEVICE, name=form.cleaned_data["name"], site=site
            )
        except DomainError as error:
            attach_error(form, error)
            status = error.status
        else:
            context = _site_context(request, user, site) | {"new_device_secret": issued.secret}
            return render(request, "accounts/site_detail.html", context)
    else:
        status = 422
    return render(request, "accounts/site_detail.html", context | {"device_form": form}, status=status)
