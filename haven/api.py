"""The one NinjaAPI, mounted at /api/v1/, and the one error handler.

Every error leaves as ``{"code", "message", "fields"}``; ``fields`` maps the offending field, as a
dotted path for nested input (``name``, ``items.2.dose``, ``limit``), to its messages.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from haven import __version__
from haven.core.errors import DomainError

log = logging.getLogger(__name__)

api = NinjaAPI(
    title="Haven API",
    version="1",
    description=(
        "The Haven JSON API. Authenticate with a bearer token (`Authorization: Bearer hvn_…`) or the "
        "browser session. Every error is `{code, message, fields}`.\n\n"
        "Live changes at a site (outside this document, as it is not JSON): "
        "`GET /sites/{site_id}/board/events` is a Server-Sent Events stream for a user token or "
        "session of the site. Each message has `event: <kind>` (observation, alert, presence, dose, "
        "emergency, discharge, setting, session, refresh) and `data: {kind, at, session, …}`; an "
        "alert carries `alert`, `alert_kind`, `status` and `message`."
    ),
    urls_namespace="api",
    docs_url="/docs",
)


def envelope(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "fields": fields or {}}


_LOCATIONS = {"body", "path", "query", "header", "cookie", "form", "file"}


def _field_path(loc: Any) -> str:
    """``("body", "payload", "items", 2, "dose")`` → ``items.2.dose``: the field as the client named it.

    The first element names where the value came from (body, query, file …) and ninja wraps a body
    schema as ``payload``; both are dropped, the rest is the field's own path.
    """
    parts = [str(p) for p in loc] if isinstance(loc, list | tuple) else [str(loc)]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    if parts and parts[0] == "payload":
        parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        fields.setdefault(_field_path(error.get("loc", ())), []).append(str(error.get("msg", "invalid")))
    message = "; ".join(f"{path}: {', '.join(msgs)}" for path, msgs in fields.items())
    return api.create_response(request, envelope("validation_error", message, fields), status=422)


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    body = envelope("not_authenticated", "Authentication required: log in or send a valid API token.")
    return api.create_response(request, body, status=401)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, envelope("not_found", "Not found."), status=404)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {403: "permission_denied", 404: "not_found", 405: "method_not_allowed", 429: "throttled"}
    code = codes.get(exc.status_code, "http_error")
    if exc.status_code == 403 and "CSRF" in str(exc):
        code = "csrf_failed"
    return api.create_response(request, envelope(code, str(exc)), status=exc.status_code)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("unhandled API error on %s %s", request.method, request.path)
    body = envelope("server_error", "Something went wrong on the server; the error has been logged.")
    return api.create_response(request, body, status=500)


@api.get("/health", auth=None, tags=["meta"], summary="Liveness and version")
def health(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok", "version": __version__}


def _mount_routers() -> None:
    from haven.accounts.api import router as accounts_router
    from haven.audit.api import router as audit_router
    from haven.dosing.api import router as dosing_router
    from haven.inventory.api import router as inventory_router
    from haven.outcomes.api import router as outcomes_router
    from haven.patients.api import router as patients_router
    from haven.protocols.api import router as protocols_router
    from haven.safety.api import router as safety_router
    from haven.scheduling.api import router as scheduling_router
    from haven.screening.api import router as screening_router
    from haven.trials.api import router as trials_router

    api.add_router("/", accounts_router)
    api.add_router("/audit", audit_router)
    api.add_router("/", dosing_router)
    api.add_router("/inventory", inventory_router)
    api.add_router("/", outcomes_router)
    api.add_router("/", patients_router)
    api.add_router("/protocols", protocols_router)
    api.add_router("/", safety_router)
    api.add_router("/", scheduling_router)
    api.add_router("/", screening_router)
    api.add_router("/", trials_router)


_mount_routers()
