"""In a real browser: an alert in the session room becomes an adverse event in one step, prefilled."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from haven.accounts.models import Role
from haven.core.testing import (
    PASSWORD,
    actor_of,
    make_cast,
    make_credential,
    make_enrolled_course,
    otp_code,
    sign_in,
)
from haven.core.time import now
from haven.dosing import services
from haven.dosing.models import Alert
from haven.patients.models import Visit
from haven.safety.models import AdverseEvent

pytestmark = pytest.mark.browser


def test_a_session_alert_is_recorded_as_an_adverse_event_from_the_room(
    live_server: LiveServer, page: Page
) -> None:
    cast = make_cast()
    course = make_enrolled_course(cast, enrolled_on=now().date() - timedelta(days=40))
    make_credential(cast.alice, cast.site_a)
    make_credential(cast.ben, cast.site_a, identifier="PSY-2")
    alice = actor_of(cast.alice)
    session = services.session_open(actor=alice, visit=Visit.objects.get(course=course, code="dose1"))
    for item in ("vitals", "pregnancy", "medications", "cssrs", "escort", "touch-consent", "equipment"):
        services.checklist_answer(actor=alice, session=session, code=item, done=True)
    services.presence_check_in(
        actor=alice, session=session, user=cast.alice, role=Role.THERAPIST, is_lead=True
    )
    services.presence_check_in(actor=alice, session=session, user=cast.ben, role=Role.THERAPIST)
    services.vitals_record(
        actor=alice,
        session=session,
        values={"systolic_bp": (122, "mm[Hg]")},
        observed_at=now() - timedelta(minutes=30),
    )
    services.dose_administer(
        actor=alice,
        session=session,
        kind="initial",
        amount=Decimal(120),
        lot="MDMA-2611-A",
        administered_at=now() - timedelta(minutes=20),
        witness=cast.ben,
        witness_password=PASSWORD,
        witness_otp_code=otp_code(cast.ben),
    )
    services.vitals_record(
        actor=alice,
        session=session,
        values={"systolic_bp": (196, "mm[Hg]")},
        observed_at=now() - timedelta(minutes=5),
    )

    sign_in(page, live_server.url, "alice", otp_code(cast.alice))
    page.goto(f"{live_server.url}/sessions/{session.public_id}/")
    page.locator(".alert-item").filter(has_text="is above the limit of 180").get_by_role(
        "link", name="Record as adverse event"
    ).click()
    expect(page.get_by_label("Event (verbatim term)")).to_have_value("Blood pressure increased")
    page.get_by_label("Severity", exact=True).select_option("moderate")
    page.get_by_label("Relatedness to the study drug").select_option("probable")
    page.get_by_role("button", name="Record the adverse event").click()
    expect(page.locator(".messages")).to_contain_text("Adverse event recorded.")
    expect(page.locator("h1")).to_contain_text("Blood pressure increased")
    expect(page.locator("body")).to_contain_text("Cardiovascular")
    event = AdverseEvent.objects.get()
    alert = Alert.objects.get(session=session, parameter="systolic_bp", kind="limit")
    assert (event.source_alert, event.session, event.severity) == (alert, session, "moderate")
