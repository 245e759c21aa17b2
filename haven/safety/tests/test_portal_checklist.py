"""The solicited-effects checklist through the patient portal: due on the days after a session,
"none" recorded as an answer, every effect answered otherwise, a "yes" to suicidal thoughts told to
the care team at once, and the staff page shows who answered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from haven.core.testing import Cast, actor_of, client_for
from haven.dosing.models import Notification
from haven.outcomes import services as outcomes
from haven.safety.models import SolicitedChecklist
from haven.safety.services import solicited_due
from haven.safety.solicited import EFFECT_CODES
from haven.safety.tests.helpers import T0, dosed

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _portal(cast: Cast, course: Any) -> Client:
    _, secret = outcomes.portal_link_create(
        actor=actor_of(cast.carmen), course=course, channel="console", second_factor="none"
    )
    client = Client()
    client.get(f"/p/{secret}/")
    return client


def test_the_day_after_a_session_the_patient_answers_none_explicitly(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    course = session.course
    assert solicited_due(course, T0.date()) == []  # the session's day: staff ask at its end
    clock.move_to(T0 + timedelta(days=1, hours=1))
    due = solicited_due(course, (T0 + timedelta(days=1)).date())
    assert [d.time_point for d in due] == ["day1"]
    patient = _portal(cast, course)
    home = patient.get("/portal/").content.decode()
    assert f"/portal/effects/{due[0].key}/" in home
    incomplete = patient.post(f"/portal/effects/{due[0].key}/", {"nausea": "yes"})
    assert incomplete.status_code == 422
    assert "answer every effect" in incomplete.content.decode()
    assert patient.post(f"/portal/effects/{due[0].key}/", {"none": "1"}).status_code == 302
    checklist = SolicitedChecklist.objects.get(course=course)
    assert (checklist.source, checklist.by, checklist.none_reported) == ("portal", None, True)
    assert all(value is False for value in checklist.answers.values())
    assert solicited_due(course, (T0 + timedelta(days=1)).date()) == []
    staff = client_for(cast.alice).get(f"/courses/{course.public_id}/solicited-effects/").content.decode()
    assert "the patient, through the portal" in staff


def test_a_yes_to_suicidal_thoughts_alerts_the_care_team_and_shows_the_crisis_text(
    cast: Cast, clock: Any
) -> None:
    session = dosed(cast)
    clock.move_to(T0 + timedelta(days=2, hours=1))
    due = solicited_due(session.course, (T0 + timedelta(days=2)).date())
    assert [d.time_point for d in due] == ["day1", "day2"]
    patient = _portal(cast, session.course)
    answers = dict.fromkeys(EFFECT_CODES, "no") | {"suicidal_thoughts": "yes", "euphoria": "yes"}
    assert patient.post(f"/portal/effects/{due[1].key}/", answers).status_code == 302
    page = patient.get("/portal/").content.decode()
    assert "Your care team has been alerted" in page
    told = Notification.objects.filter(subject__contains="thoughts of suicide or self-harm")
    assert {n.recipient for n in told} >= {cast.priya, cast.alice}
    checklist = SolicitedChecklist.objects.get(course=session.course, time_point="day2")
    assert (checklist.answers["euphoria"], checklist.answers["nausea"]) == (
        True,
        False,
    )  # positive effects recorded too
    other = Client()
    assert other.get(f"/portal/effects/{due[0].key}/").status_code == 404  # no portal session, nothing
