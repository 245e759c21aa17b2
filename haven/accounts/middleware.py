"""Session guard: idle timeout and "log out everywhere".

Runs after authentication. A session idle longer than ``HAVEN_IDLE_TIMEOUT`` (15 minutes by
default), or started before the user's last "log out everywhere", is ended: pages redirect to the
login page with a notice, the API answers 401 in the error envelope.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from haven.accounts.actors import actor_for
from haven.accounts.models import User
from haven.accounts.services import logout_recorded

SEEN_KEY = "haven_last_seen"
GENERATION_KEY = "haven_generation"
# Refresh the idle clock at most this often, so polling pages do not write the session every time.
_TOUCH_EVERY = 15


class SessionGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if isinstance(user, User) and user.is_authenticated:
            ended = self._ended(request, user)
            if ended is not None:
                logout_recorded(actor=actor_for(request, user=user), user=user, why=ended)
                logout(request)
                return self._signed_out(request, ended)
            seen = request.session.get(SEEN_KEY, 0)
            moment = int(time.time())
            if moment - seen >= _TOUCH_EVERY:
                request.session[SEEN_KEY] = moment
        return self.get_response(request)

    @staticmethod
    def _ended(request: HttpRequest, user: User) -> str | None:
        if request.session.get(GENERATION_KEY) != user.session_generation:
            return "session ended by log out everywhere"
        seen = request.session.get(SEEN_KEY)
        if seen is None or time.time() - seen > settings.HAVEN_IDLE_TIMEOUT.total_seconds():
            return "idle timeout"
        return None

    @staticmethod
    def _signed_out(request: HttpRequest, why: str) -> HttpResponse:
        message = (
            "You were signed out after a period without activity."
            if why == "idle timeout"
            else "You were signed out because your sessions were ended."
        )
        if request.path.startswith("/api/"):
            return JsonResponse({"code": "session_expired", "message": message, "fields": {}}, status=401)
        url = reverse("accounts:login") + "?" + urlencode({"next": request.get_full_path(), "ended": why})
        if request.htmx:  # type: ignore[attr-defined]
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)
