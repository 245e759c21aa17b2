"""In a real browser, on a tablet-size screen: a therapist records vital signs in the session room,
the alert appears on the live board open in another tab without a reload, and is acknowledged there."""

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
from haven.dosing.models import Alert, Observation
from haven.patients.models import Visit

pytestmark = pytest.mark.browser


def test_vitals_recorded_on_the_tablet_raise_an_alert_the_board_shows_and_acknowledges(
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
        values={"systolic_bp": (122, "mm[Hg]"), "heart_rate": (72, "/min")},
        observed_at=now() - timedelta(minutes=20),
    )
    services.dose_administer(
        actor=alice,
        session=session,
        kind="initial",
        amount=Decimal(120),
        lot="MDMA-2611-A",
        administered_at=now() - timedelta(minutes=10),
        witness=cast.ben,
        witness_password=PASSWORD,
        witness_otp_code=otp_code(cast.ben),
    )

    page.set_viewport_size({"width": 800, "height": 1280})  # a portrait tablet in the room
    sign_in(page, live_server.url, "alice", otp_code(cast.alice))
    board = page.context.new_page()
    board.goto(f"{live_server.url}/sites/{cast.site_a.public_id}/board/")
    expect(board.locator("[data-stream-status]")).to_have_text("Live.")
    card = board.locator(f"#card-{session.public_id}")
    expect(card).not_to_contain_text("Acknowledge")

    page.goto(f"{live_server.url}/sessions/{session.public_id}/")
    page.get_by_label("Systolic").fill("196")
    page.get_by_label("Heart rate").fill("88")
    page.get_by_role("button", name="Record vitals").click()
    expect(page.locator(".messages")).to_contain_text("Recorded 2 value(s). 2 alert(s) raised.")
    expect(page.locator("#live")).to_contain_text("is above the limit of 180")

    # The board, untouched since it loaded, now shows the alert.
    limit_alert = card.locator(".alert-item").filter(has_text="is above the limit of 180")
    expect(limit_alert).to_be_visible(timeout=5000)
    expect(card.locator(".alert-item").filter(has_text="rose 74 mmHg from the pre-dose")).to_be_visible()
    expect(card.locator(".value").first).to_have_text("196")
    limit_alert.get_by_label("Action taken").select_option("physician_called")
    limit_alert.get_by_role("button", name="Acknowledge").click()
    expect(board.locator(".messages")).to_contain_text("Alert acknowledged.")
    alert = Alert.objects.get(session=session, parameter="systolic_bp", kind="limit")
    assert (alert.status, alert.action, alert.acknowledged_by) == (
        "acknowledged",
        "physician_called",
        cast.alice,
    )
    assert Observation.objects.filter(session=session, parameter="systolic_bp").count() == 2
    # And the room, open on the tablet all along, follows: the alert is acknowledged there too.
    expect(page.locator("#live")).to_contain_text("Physician called by", timeout=5000)
