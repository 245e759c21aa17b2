"""The protocol's optional safety block: shipped files load without it; with it, grading and clocks follow it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine

from haven.audit.context import Actor
from haven.core.errors import ValidationFailed
from haven.core.testing import Cast, actor_of
from haven.patients.models import EnrollmentCourse
from haven.protocols.loader import SHIPPED_DIR, parse_protocol
from haven.protocols.schema import SeverityScale
from haven.protocols.services import protocol_load
from haven.safety import services
from haven.safety.models import SaeClock
from haven.safety.tests.helpers import T0, dosed, mild, serious

pytestmark = pytest.mark.django_db
SAFETY_BLOCK = """
safety:
  severity_scale: ctcae
  initial_report_hours: 12
  expedited_days_other: 10
  solicited_time_points: [session_end, day3]
"""


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0 + timedelta(hours=2), tick=False) as traveller:
        yield traveller


def test_every_shipped_protocol_still_loads_without_a_safety_block() -> None:
    for path in sorted(SHIPPED_DIR.glob("*.yaml")):
        assert parse_protocol(path.read_text(), source=path.name).safety is None


def test_a_protocol_with_a_safety_block_grades_by_ctcae_and_sets_the_clocks(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    text = (SHIPPED_DIR / "mdma-ptsd.yaml").read_text().replace('version: "1.0"', 'version: "1.1"', 1)
    version = protocol_load(
        actor=Actor.system("test"), text=text + SAFETY_BLOCK, source="amended.yaml"
    ).version
    protocol = parse_protocol(text + SAFETY_BLOCK, source="amended.yaml")
    assert protocol.safety is not None
    assert protocol.safety.severity_scale == SeverityScale.CTCAE
    # Test setup: move the course onto the amended version (the re-consent flow is not under test).
    EnrollmentCourse.objects.filter(pk=session.course.pk).update(protocol_version=version)
    course = EnrollmentCourse.objects.get(pk=session.course.pk)
    with pytest.raises(ValidationFailed) as ungraded:
        services.ae_record(actor=actor_of(cast.alice), course=course, data=mild())
    assert "ctcae_grade" in ungraded.value.fields
    event = services.ae_record(actor=actor_of(cast.alice), course=course, data=serious(ctcae_grade=3))
    aware = T0 + timedelta(minutes=70)
    due = {c.kind: c.due_at for c in SaeClock.objects.filter(event=event)}
    assert due == {"initial": aware + timedelta(hours=12), "expedited": aware + timedelta(days=10)}
    services.solicited_record(
        actor=actor_of(cast.alice), course=course, time_point="day3", none_reported=True, answers={}
    )
    with pytest.raises(ValidationFailed):
        services.solicited_record(
            actor=actor_of(cast.alice), course=course, time_point="day7", none_reported=True, answers={}
        )
