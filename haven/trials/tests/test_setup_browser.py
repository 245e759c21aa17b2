"""In a real browser: a statistician sets a study up, loads the sponsor's kit list and reads the
study's setup summary."""

from __future__ import annotations

import pytest
from playwright.sync_api import FilePayload, Page, expect
from pytest_django.live_server_helper import LiveServer

from haven.core.testing import load_shipped_protocol, make_cast, otp_code, sign_in
from haven.trials.models import Kit, Study

pytestmark = pytest.mark.browser
KITS = b"kit number,arm,site\nK-001,MDMA,ALD\nK-002,PBO,ALD\nK-003,MDMA,ALD\nK-004,PBO,ALD\n"


def test_a_statistician_sets_up_a_study_loads_kits_and_reads_the_summary(
    live_server: LiveServer, page: Page
) -> None:
    cast = make_cast()
    load_shipped_protocol()
    sign_in(page, live_server.url, "dana", otp_code(cast.dana))

    page.get_by_role("navigation", name="Account").get_by_role("link", name="Studies").click()
    expect(page.get_by_role("heading", name="Studies")).to_be_visible()
    page.get_by_role("link", name="Set up a study").first.click()
    page.get_by_label("Protocol").select_option("mdma-ptsd")
    page.get_by_label("Title").fill("MAPP-style study")
    page.get_by_label("Arm 1 code").fill("MDMA")
    page.get_by_label("Arm 1 label").fill("MDMA-assisted therapy")
    page.get_by_label("Arm 2 code").fill("PBO")
    page.get_by_label("Arm 2 label").fill("Placebo with therapy")
    page.get_by_label("Arm 2 is the control").check()
    page.get_by_label("Stratification factors").fill("site, dissociative")
    expect(page.get_by_label(cast.dana.printed_name)).to_be_checked()  # the one setting it up, by default
    page.get_by_role("button", name="Set up the study").click()

    expect(page.locator(".messages")).to_contain_text("Study mdma-ptsd set up.")
    expect(page.get_by_role("heading", name="MAPP-style study")).to_be_visible()
    design = page.get_by_role("region", name="Design")
    expect(design).to_contain_text("Placebo with therapy")
    expect(design).to_contain_text("site, dissociative")
    study = Study.objects.get()
    assert [(a["code"], a["control"]) for a in study.arms] == [("MDMA", False), ("PBO", True)]

    kit_file: FilePayload = {"name": "kits.csv", "mimeType": "text/csv", "buffer": KITS}
    page.get_by_label("Kit list (CSV)").set_input_files(files=[kit_file])
    page.get_by_role("button", name="Load the kits").click()

    expect(page.locator(".messages")).to_contain_text("4 kits loaded.")
    kits = page.get_by_role("region", name="Kits")
    expect(kits.get_by_role("row", name="Alder Clinic (ALD) 4 0")).to_be_visible()
    expect(kits.get_by_role("row", name="ALD · MDMA 2 0")).to_be_visible()
    expect(page.get_by_role("region", name="Randomized 0")).to_contain_text("No one randomized yet.")
    expect(page.get_by_role("link", name="Study report")).to_have_attribute(
        "href", "/studies/mdma-ptsd/report/"
    )
    assert Kit.objects.filter(study=study).count() == 4
