"""In a real browser: a physician enters a QTc on the screening page and the eligibility panel
updates at once, without a page load."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from haven.core.testing import actor_of, load_shipped_protocol, make_cast, make_patient, otp_code, sign_in
from haven.patients.services import course_open, course_transition
from haven.screening.models import EligibilityEvaluation, ScreeningMeasurement

pytestmark = pytest.mark.browser


def test_the_eligibility_panel_follows_the_data_as_they_are_entered(
    live_server: LiveServer, page: Page
) -> None:
    cast = make_cast()
    course = course_open(
        actor=actor_of(cast.carmen), patient=make_patient(cast), protocol_version=load_shipped_protocol()
    )
    course = course_transition(actor=actor_of(cast.carmen), course=course, to="screening")

    sign_in(page, live_server.url, "priya", otp_code(cast.priya))
    page.goto(f"{live_server.url}/courses/{course.public_id}/screening/")
    qtc_criterion = page.locator("#criterion-qtc")
    expect(qtc_criterion).to_contain_text("Missing")

    ecg = page.locator("#section-ecg")
    ecg.get_by_label("QTc").fill("478")
    ecg.get_by_role("button", name="Add").click()

    # Jordan Example is female: 478 ms is above the 470 ms limit, and the panel says so in place.
    expect(page.locator("#criterion-qtc")).to_contain_text("QTc 478 ms exceeds 470 ms (female limit).")
    expect(page.locator("#section-ecg")).to_contain_text("478")
    assert page.url.endswith(f"/courses/{course.public_id}/screening/")
    entry = ScreeningMeasurement.objects.get()
    assert (entry.field, entry.value, entry.unit) == ("qtc", Decimal(478), "ms")
    assert EligibilityEvaluation.objects.filter(course=course).count() == 1
