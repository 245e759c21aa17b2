"""API authentication: a bearer token, or the browser session (with CSRF on unsafe methods).

``request.auth`` becomes a ``Principal``. Endpoints for people use ``user_auth``; a device token
presented there is refused with ``token_scope``. Later capabilities that accept devices (vital-sign
ingest) declare ``device_auth`` explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from haven.accounts.actors import actor_for
from haven.accounts.models import ApiToken, Site, TokenKind, User
from haven.accounts.services import token_authenticate, token_require_user
from haven.audit.context import Actor


@dataclass(frozen=True)
class Principal:
    actor: Actor
    user: User | None
    token: ApiToken | None = None
    device_site: Site | None = None


class _UserTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        api_token = token_authenticate(secret=token)
        if api_token is None:
            return None
        user = token_require_user(api_token)
        return Principal(actor=actor_for(request, token=api_token), user=user, token=api_token)


class _DeviceTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        api_token = token_authenticate(secret=token)
        if api_token is None or api_token.kind != TokenKind.DEVICE:
            return None
        return Principal(
            actor=actor_for(request, token=api_token), user=None, token=api_token, device_site=api_token.site
        )


class _SessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Principal | None:
        if isinstance(request.user, User) and request.user.is_authenticated:
            return Principal(actor=actor_for(request), user=request.user)
        return None


user_auth = [_UserTokenAuth(), _SessionAuth()]
device_auth = [_DeviceTokenAuth()]


def principal_user(request: HttpRequest) -> User:
    """The person behind an endpoint guarded by ``user_auth``."""
    principal: Principal = request.auth  # type: ignore[attr-defined]
    assert principal.user is not None  # user_auth never admits a principal without one
    return principal.user


def principal_actor(request: HttpRequest) -> Actor:
    principal: Principal = request.auth  # type: ignore[attr-defined]
    return principal.actor
