"""The home page's "waiting for you" list, per role."""

from __future__ import annotations

from datetime import timedelta

import pytest

from haven.core.testing import (
    Cast,
    actor_of,
    client_for,
    load_shipped_protocol,
    make_active_consent_document,
    make_enrolled_course,
)
from haven.core.time import today_at
from haven.patients.models import Visit
from haven.patients.services import visit_record_occurrence

pytestmark = pytest.mark.django_db


def _home(cast: Cast, who: str) -> str:
    return client_for(getattr(cast, who)).get("/").content.decode()


def test_overdue_visits_wait_for_the_clinical_team(cast: Cast) -> None:
    today = today_at(cast.site_a.time_zone)
    course = make_enrolled_course(cast, enrolled_on=today - timedelta(days=40))
    overdue = Visit.objects.filter(course=course, status="planned", window_latest__lt=today).count()
    assert overdue > 0
    assert f"{overdue} overdue visit" in _home(cast, "carmen")
    assert "overdue visit" not in _home(cast, "pat")  # the pharmacist does not follow visits


def test_visits_without_a_signed_note_wait_for_the_note_writers(cast: Cast) -> None:
    today = today_at(cast.site_a.time_zone)
    course = make_enrolled_course(cast, enrolled_on=today - timedelta(days=10))
    visit_record_occurrence(
        actor=actor_of(cast.alice),
        visit=Visit.objects.get(course=course, code="prep1"),
        occurred_on=today - timedelta(days=3),
    )
    assert "1 visit note to sign" in _home(cast, "alice")
    assert "visit note to sign" not in _home(cast, "morgan")


def test_a_new_consent_version_puts_re_consent_on_the_coordinators_list(cast: Cast) -> None:
    make_enrolled_course(cast, enrolled_on=today_at(cast.site_a.time_zone))
    assert "must re-consent" not in _home(cast, "carmen")
    make_active_consent_document(cast, load_shipped_protocol(), label="v2")
    assert "1 patient must re-consent" in _home(cast, "carmen")
