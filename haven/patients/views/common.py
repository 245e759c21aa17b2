"""Helpers shared by the patient pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from django import forms
from django.http import HttpRequest

from haven.accounts.models import Role, Site, User
from haven.core.errors import DomainError
from haven.core.forms import attach_error
from haven.core.time import local, now
from haven.patients import services
from haven.patients.models import (
    CourseStatus,
    VisitStatus,
)
from haven.protocols.models import ProtocolVersion
from haven.protocols.selectors import protocol_version_list

DOCUMENT_ROLES = frozenset({Role.COORDINATOR, Role.SITE_ADMIN})
COURSE_BADGE = {
    CourseStatus.INELIGIBLE: "bad",
    CourseStatus.WITHDRAWN: "bad",
    CourseStatus.LOST: "bad",
    CourseStatus.CANDIDATE: "",
    CourseStatus.SCREENING: "warn",
}
VISIT_BADGE = {VisitStatus.OCCURRED: "warn", VisitStatus.COMPLETED: "ok", VisitStatus.MISSED: "bad"}
RECONSENT_STATUSES = (CourseStatus.CONSENTED, *services.ON_STUDY, CourseStatus.FOLLOW_UP)


# Helpers ------------------------------------------------------------------------------------------
def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _today(site: Site) -> date:
    """Today where the site is: the date staff see on the wall calendar."""
    return local(now(), site.time_zone).date()


def _when(at: datetime | date, time_zone: str) -> str:
    if isinstance(at, datetime):
        return local(at, time_zone).strftime("%Y-%m-%d %H:%M")
    return at.strftime("%Y-%m-%d")


def _versions() -> list[tuple[str, str]]:
    return [(str(v.public_id), f"{v.code} {v.version}: {v.title}") for v in protocol_version_list()]


def _version(public_id: str) -> ProtocolVersion | None:
    return protocol_version_list().filter(public_id=public_id).first()


def _run(form: forms.Form, call: Callable[[dict[str, Any]], object]) -> int | None:
    """Validate ``form`` and call the service; None on success, else the status to answer with."""
    if not form.is_valid():
        return 422
    try:
        call(form.cleaned_data)
    except DomainError as error:
        attach_error(form, error)
        return error.status
    return None
