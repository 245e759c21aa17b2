"""In a real browser: a coordinator randomizes an enrolled patient from the chart and is shown the
kit to dispense, never the arm."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from haven.core.testing import actor_of, make_cast, make_enrolled_course, otp_code, sign_in
from haven.trials import services
from haven.trials.models import Randomization

pytestmark = pytest.mark.browser


def test_a_coordinator_randomizes_from_the_chart_and_is_shown_the_kit(
    live_server: LiveServer, page: Page
) -> None:
    cast = make_cast()
    course = make_enrolled_course(cast, enrolled_on=date.today() - timedelta(days=1))
    study = services.study_create(
        actor=actor_of(cast.dana),
        protocol_code="mdma-ptsd",
        title="Browser study",
        arms=[{"code": "ZETAQ", "ratio": 1}, {"code": "OMEGAV", "ratio": 1, "control": True}],
        factors=["site", "dissociative"],
        statisticians=[cast.dana],
    )
    services.kits_load(
        actor=actor_of(cast.dana),
        study=study,
        rows=[("K-11", "ZETAQ", cast.site_a), ("K-12", "OMEGAV", cast.site_a)],
    )
    sign_in(page, live_server.url, "carmen", otp_code(cast.carmen))
    page.goto(f"{live_server.url}/patients/{course.patient.public_id}/")
    page.get_by_role("link", name="Randomization").click()
    expect(page.get_by_role("heading", name="Randomize into Browser study")).to_be_visible()
    page.get_by_role("button", name="Randomize").click()  # the factor left empty: refused in place
    expect(page.get_by_text("This field is required.")).to_be_visible()
    assert not Randomization.objects.exists()
    page.get_by_label("Dissociative").fill("no")
    page.get_by_role("button", name="Randomize").click()

    expect(page.locator(".messages")).to_contain_text("Randomized.")
    randomization = Randomization.objects.get(course=course)
    assert randomization.kit is not None
    allocation = page.get_by_role("region", name="Allocation")
    expect(allocation.locator("dd").nth(2)).to_have_text(randomization.kit.number)
    expect(allocation.locator("dd").nth(3)).to_have_text("concealed")
    content = page.content()
    assert "ZETAQ" not in content
    assert "OMEGAV" not in content
