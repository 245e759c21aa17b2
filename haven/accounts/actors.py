"""Build the audit trail's ``Actor`` from a request: who acts, with which roles, from where."""

from __future__ import annotations

from django.http import HttpRequest

from haven.accounts.models import ApiToken, User
from haven.accounts.selectors import role_map
from haven.audit.context import Actor


def client_ip(request: HttpRequest) -> str | None:
    """The client's address. Behind a reverse proxy, the ASGI server (uvicorn with proxy headers,
    trusting only ``FORWARDED_ALLOW_IPS``) has already put the real client address here; Haven never
    reads X-Forwarded-For itself, because a client can forge it."""
    return request.META.get("REMOTE_ADDR") or None


def actor_for(request: HttpRequest, *, user: User | None = None, token: ApiToken | None = None) -> Actor:
    """The actor behind ``request``; ``user`` overrides the session user (e.g. during login)."""
    if user is None and token is not None:
        user = token.user
    if user is None and request.user.is_authenticated:
        user = request.user
    if user is None:
        name = f"device token {token.name}" if token is not None else "anonymous"
        roles = {}
    else:
        name = user.printed_name or user.username
        roles = role_map(user)
    return Actor(
        user=user,
        printed_name=name,
        roles=roles,
        token_id=token.public_id if token is not None else None,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
    )


def user_actor(user: User, *, ip: str | None = None) -> Actor:
    """An actor for ``user`` outside a request (a command acting as a named person, the demo)."""
    return Actor(user=user, printed_name=user.printed_name or user.username, roles=role_map(user), ip=ip)
