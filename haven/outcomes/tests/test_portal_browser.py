"""In a real browser on a phone: a patient opens their link, confirms their date of birth, completes
a PHQ-9 with item 9 positive and sees the crisis text at once; the clinician sees the safety alert
and acknowledges it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from haven.core.testing import actor_of, make_cast, make_enrolled_course, otp_code, sign_in
from haven.core.time import now
from haven.outcomes import services
from haven.outcomes.models import SafetyAlert

pytestmark = pytest.mark.browser


def test_a_patient_completes_a_phq9_on_a_phone_and_the_clinician_sees_the_alert(
    live_server: LiveServer, page: Page, browser: Browser
) -> None:
    cast = make_cast()
    course = make_enrolled_course(cast, enrolled_on=now().date() - timedelta(days=3))
    services.form_request_create(
        actor=actor_of(cast.alice), course=course, instrument="phq9", due_on=now().date()
    )
    _, secret = services.portal_link_create(actor=actor_of(cast.carmen), course=course, channel="console")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    patient = phone.new_page()
    problems: list[str] = []
    patient.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and "status of 4" not in m.text else None,
    )
    patient.goto(f"{live_server.url}/p/{secret}/")
    expect(patient.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    assert secret not in patient.url  # the secret left the address bar
    patient.get_by_label("Your date of birth").fill("1985-04-12")
    patient.get_by_role("button", name="Continue").click()
    patient.get_by_role("link", name="PHQ-9").or_(
        patient.get_by_role("link", name="Patient Health Questionnaire-9")
    ).first.click()
    for number in range(1, 9):
        patient.locator(f"#item-phq9_{number}").get_by_text("Several days").click()
    patient.locator("#item-phq9_9").get_by_text("More than half the days").click()
    patient.get_by_role("button", name="Send my answers").click()
    alert_box = patient.get_by_role("alert")
    expect(alert_box).to_contain_text("Your care team has been alerted")
    expect(alert_box).to_contain_text("988")
    expect(patient.locator(".forms-list a[href*='/phq9/']")).to_have_count(0)  # done, no longer waiting
    assert problems == []
    phone.close()

    sign_in(page, live_server.url, "alice", otp_code(cast.alice))
    page.goto(f"{live_server.url}/courses/{course.public_id}/outcomes/")
    safety = page.locator(".alerts .alert-item").first
    expect(safety).to_contain_text("Open")
    safety.get_by_label("Action taken").select_option("patient_contacted")
    safety.get_by_label("Note").fill("Called; safe, safety plan reviewed.")
    safety.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".messages")).to_contain_text("Safety alert acknowledged.")
    alert = SafetyAlert.objects.get(course=course)
    assert (alert.status, alert.action, alert.acknowledged_by) == (
        "acknowledged",
        "patient_contacted",
        cast.alice,
    )
