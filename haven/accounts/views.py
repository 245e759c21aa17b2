"""Login (password, then authenticator), enrolment, logout, and the account security page."""

from __future__ import annotations

import base64
import time
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.accounts import selectors, services
from haven.accounts.actors import actor_for
from haven.accounts.forms import LoginForm, OtpForm, TokenCreateForm
from haven.accounts.middleware import GENERATION_KEY, SEEN_KEY
from haven.accounts.models import TokenKind, User
from haven.audit.selectors import audit_entries_for_user
from haven.core.errors import DomainError
from haven.core.forms import attach_error

PENDING_KEY = "haven_pending_login"
ENROL_KEY = "haven_enrol_device"
# A password step is good for five minutes; then the user starts again.
PENDING_TTL_SECONDS = 300

ENDED_NOTICES = {
    "idle timeout": "You were signed out after a period without activity. Please sign in again.",
    "session ended by log out everywhere": "Your sessions were ended. Please sign in again.",
    "logout": "You are signed out.",
}


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _pending_user(request: HttpRequest) -> User | None:
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_TTL_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    return User.objects.filter(pk=pending["user"], is_active=True).first()


def _complete_login(request: HttpRequest, user: User, *, method: str) -> HttpResponse:
    next_url = request.session.get(PENDING_KEY, {}).get("next") or reverse(settings.LOGIN_REDIRECT_URL)
    request.session.pop(PENDING_KEY, None)
    request.session.pop(ENROL_KEY, None)
    services.login_succeeded(actor=actor_for(request, user=user), user=user, method=method)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[GENERATION_KEY] = user.session_generation
    request.session[SEEN_KEY] = int(time.time())
    return HttpResponseRedirect(next_url)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = LoginForm(request.POST or None)
    notice = ENDED_NOTICES.get(request.GET.get("ended", ""))
    if request.method == "POST" and form.is_valid():
        try:
            user = services.login_check_password(
                actor=actor_for(request),
                login=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            next_url = _safe_next(request, request.GET.get("next"))
            request.session[PENDING_KEY] = {"user": user.pk, "at": time.time(), "next": next_url}
            if services.mfa_enrolled(user):
                return redirect("accounts:login_verify")
            if services.mfa_required(user):
                return redirect("accounts:mfa_enrol")
            return _complete_login(request, user, method="password (no second factor required)")
    return render(request, "accounts/login.html", {"form": form, "notice": notice})


@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None:
        return redirect("accounts:login")
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.login_check_otp(
                actor=actor_for(request, user=user), user=user, otp_code=form.cleaned_data["otp_code"]
            )
        except DomainError as error:
            attach_error(form, error)
            if error.code == "account_locked":
                request.session.pop(PENDING_KEY, None)
        else:
            return _complete_login(request, user, method="password + authenticator")
    return render(request, "accounts/login_verify.html", {"form": form, "pending_user": user})


def _enrol_device(request: HttpRequest, user: User) -> TOTPDevice:
    device_id = request.session.get(ENROL_KEY)
    device = (
        TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first() if device_id else None
    )
    if device is None:
        device = services.mfa_enroll_start(user=user)
        request.session[ENROL_KEY] = device.pk
    return device


@require_http_methods(["GET", "POST"])
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator: during login (when required) or from the security page."""
    logged_in = isinstance(request.user, User) and request.user.is_authenticated
    user = request.user if logged_in else _pending_user(request)
    if not isinstance(user, User):
        return redirect("accounts:login")
    if logged_in and services.mfa_enrolled(user):
        messages.info(request, "An authenticator is already set up for your account.")
        return redirect("accounts:security")
    device = _enrol_device(request, user)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.mfa_enroll_confirm(
                actor=actor_for(request, user=user),
                user=user,
                device=device,
                otp_code=form.cleaned_data["otp_code"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            if not logged_in:
                return _complete_login(request, user, method="password + new authenticator")
            request.session.pop(ENROL_KEY, None)
            messages.success(request, "Your authenticator is set up.")
            return redirect("accounts:security")
    uri = device.config_url
    context: dict[str, Any] = {
        "form": form,
        "qr_svg": segno.make(uri, error="m").svg_inline(scale=4, title="Authenticator set-up code"),
        "secret": base64.b32encode(device.bin_key).decode(),
        "during_login": not logged_in,
    }
    return render(request, "accounts/mfa_enrol.html", context)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if isinstance(request.user, User) and request.user.is_authenticated:
        services.logout_recorded(actor=actor_for(request), user=request.user, why="logout")
    logout(request)
    return HttpResponseRedirect(reverse("accounts:login") + "?ended=logout")


@login_required
@require_POST
def logout_everywhere_view(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    services.logout_everywhere(actor=actor_for(request), user=request.user)
    logout(request)
    return HttpResponseRedirect(reverse("accounts:login") + "?ended=session+ended+by+log+out+everywhere")


@login_required
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = TokenCreateForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.token_create(
                actor=actor_for(request), kind=TokenKind.USER, name=form.cleaned_data["name"]
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            new_secret = issued.secret
            form = TokenCreateForm()
    context = {
        "form": form,
        "new_secret": new_secret,
        "tokens": selectors.token_list(user=user),
        "mfa_enrolled": services.mfa_enrolled(user),
        "mfa_required": services.mfa_required(user),
        "activity": audit_entries_for_user(user_id=user.pk)[:20],
    }
    template = "accounts/partials/tokens.html" if request.htmx else "accounts/security.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: str) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    try:
        token = selectors.access_token(user=user, token_id=token_id)
        services.token_revoke(actor=actor_for(request), token=token)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Token “{token.name}” revoked.")
    return HttpResponseRedirect(
        _safe_next(request, request.POST.get("back"))
        if request.POST.get("back")
        else reverse("accounts:security")
    )
