"""The main navigation's link to the studies pages, for the people they are for."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from haven.accounts.models import User
from haven.trials.selectors import studies_visible


def studies_nav(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    # Lazy: only pages that draw the navigation pay for the query.
    return {"nav_studies": SimpleLazyObject(lambda: isinstance(user, User) and studies_visible(user))}
