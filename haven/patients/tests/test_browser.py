"""End to end in a real Chromium: register a patient, take them through consent to enrollment.

Skipped when no Chromium is installed, unless ``HAVEN_BROWSER_REQUIRED=1`` (as in CI), which turns
the skip into a failure. With ``HAVEN_SCREENSHOT_DIR`` set, the journey also saves screenshots of
the pages it passes through there, for a person to look at.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from haven.accounts.models import Role
from haven.core.testing import (
    PASSWORD,
    actor_of,
    grant,
    load_shipped_protocol,
    make_active_consent_document,
    make_cast,
    make_eligible_screening,
    otp_code,
    sign_in,
)
from haven.core.time import now
from haven.patients.models import ConsentRecord, CourseStatus, EnrollmentCourse, Visit
from haven.scheduling.models import Appointment
from haven.scheduling.services import room_create

pytestmark = pytest.mark.browser


def _snap(page: Page, name: str, *, full_page: bool = False) -> None:
    folder = os.environ.get("HAVEN_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


def test_a_coordinator_takes_a_patient_from_registration_to_booking(
    live_server: LiveServer, page: Page
) -> None:
    cast = make_cast()
    version = load_shipped_protocol()
    make_active_consent_document(cast, version)
    # Eligibility is a physician's decision; Carmen holds both roles here, so one person walks it.
    grant(cast.carmen, cast.site_a, Role.PHYSICIAN)
    room_create(actor=actor_of(cast.morgan), site=cast.site_a, name="Willow room", kind="therapy")

    sign_in(page, live_server.url, "carmen", otp_code(cast.carmen))
    page.get_by_role("region", name="Alder Clinic").get_by_role("link", name="Patients").click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()

    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("Given name").fill("Jordan")
    page.get_by_label("Family name").fill("Example")
    page.get_by_label("Date of birth").fill("1985-04-12")
    page.get_by_label("Sex at birth").select_option("female")
    page.get_by_label("Phone", exact=True).fill("+1 555 0100")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="ALD-0001")).to_be_visible()
    expect(page.get_by_text("Registered ALD-0001.")).to_be_visible()

    page.get_by_label("Protocol version").select_option(label=f"mdma-ptsd 1.0: {version.title}")
    page.get_by_role("button", name="Open course").click()
    course_card = page.get_by_role("region", name=version.title)
    expect(course_card).to_contain_text("Candidate")

    page.get_by_label("Move to").select_option("screening")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_text("The course is now Screening.")).to_be_visible()
    # The screening data (entered on the screening page in real use) meet every criterion.
    make_eligible_screening(cast, EnrollmentCourse.objects.get())
    page.reload()
    page.get_by_label("Move to").select_option("eligible")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_text("The course is now Eligible.")).to_be_visible()

    page.get_by_role("link", name="Take consent").click()
    expect(page.get_by_role("heading", name="Consent: ALD-0001")).to_be_visible()
    page.get_by_label("Patient's printed name").fill("Jordan Example")
    # Draw only once the pad's script listens (it is deferred; a stroke before that is lost).
    pad = page.locator("[data-signature-pad][data-ready] canvas")
    box = pad.bounding_box()
    assert box is not None
    left, top = box["x"], box["y"]
    page.mouse.move(left + 40, top + 120)
    page.mouse.down()
    page.mouse.move(left + 120, top + 60, steps=8)
    page.mouse.move(left + 200, top + 140, steps=8)
    page.mouse.move(left + 300, top + 70, steps=8)
    page.mouse.up()
    page.mouse.move(left + 330, top + 110)
    page.mouse.down()
    page.mouse.move(left + 420, top + 100, steps=6)
    page.mouse.up()
    expect(page.locator("input[name=patient_signature_svg]")).to_have_value(
        re.compile(r"^M [\d.]+ [\d.]+ L .* M [\d.]+ [\d.]+ L ")
    )
    _snap(page, "consent")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authenticator code").fill(otp_code(cast.carmen))
    page.get_by_role("button", name="Countersign as Carmen Liu").click()
    expect(page.get_by_text("Consent recorded and countersigned.")).to_be_visible()

    enrolled_on = now().date() - timedelta(days=3)
    page.get_by_label("Enrollment date").fill(enrolled_on.isoformat())
    page.get_by_role("button", name="Enroll and plan the schedule").click()
    expect(page.get_by_text("Enrolled: the schedule is planned.")).to_be_visible()
    course = EnrollmentCourse.objects.get()
    prep1 = Visit.objects.get(course=course, code="prep1")
    row = page.get_by_role("row").filter(has_text="Preparation session 1")
    expect(row).to_contain_text(f"{prep1.window_earliest:%Y-%m-%d} – {prep1.window_latest:%Y-%m-%d}")
    _snap(page, "chart")
    _snap(page, "chart-full", full_page=True)

    assert (course.status, course.enrolled_on) == (CourseStatus.PREPARATION, enrolled_on)
    assert Visit.objects.filter(course=course).count() == 40
    record = ConsentRecord.objects.get(course=course)
    assert record.patient_signature_svg.startswith("M ")
    assert record.patient_signature_svg.count("M ") == 2

    # Book the first preparation visit inside its window, with both therapists.
    row.get_by_role("link", name="Book Preparation session 1").click()
    expect(
        page.get_by_role("heading", name=f"Book Preparation session 1 for {course.patient.study_id}")
    ).to_be_visible()
    expect(page.get_by_label("Date")).to_have_value(prep1.target_date.isoformat())
    page.get_by_label("Start").fill("10:00")
    page.get_by_label("Room").select_option(label="Willow room (Therapy room)")
    page.get_by_label("Dr Alice Adams · Therapist").check()
    page.get_by_label("Ben Okafor · Therapist").check()
    page.get_by_label("Dr Alice Adams leads").check()
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_text(f"Booked Preparation session 1 for {course.patient.study_id}")).to_be_visible()
    appointment = Appointment.objects.get()
    assert appointment.visit == prep1
    assert appointment.room is not None
    assert appointment.room.name == "Willow room"
    assert sorted(appointment.staff.values_list("user__username", "is_lead")) == [
        ("alice", True),
        ("ben", False),
    ]

    if os.environ.get("HAVEN_SCREENSHOT_DIR"):
        page.get_by_role("button", name="Show identifying data").click()
        expect(page.get_by_role("region", name="Identifying data")).to_contain_text("Jordan Example")
        _snap(page, "identity")
        row.get_by_role("link", name="Preparation session 1").click()
        expect(page.get_by_role("heading", name="Preparation session 1")).to_be_visible()
        _snap(page, "visit", full_page=True)
        page.goto(f"{live_server.url}/sites/{cast.site_a.public_id}/patients/")
        _snap(page, "list")
