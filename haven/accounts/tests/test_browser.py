"""End to end in a real Chromium: signing in with password and authenticator code.

Skipped when no Chromium is installed, unless ``HAVEN_BROWSER_REQUIRED=1`` (as in CI), which turns
the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import Browser, Page, expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

from haven.audit.models import AuditEntry
from haven.core.testing import PASSWORD, make_cast, otp_code

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    executable = _chromium()
    if executable is None:
        if os.environ.get("HAVEN_BROWSER_REQUIRED") == "1":
            pytest.fail("HAVEN_BROWSER_REQUIRED=1 but no Chromium at /usr/bin/chromium or on PATH")
        pytest.skip("no Chromium installed")
    # Playwright's sync API keeps an event loop running in this thread, which makes Django's ORM
    # refuse to run in the test body; the test and the live server never share a connection.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def test_login_with_password_and_authenticator_code(live_server: LiveServer, page: Page) -> None:
    cast = make_cast()

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username or e-mail").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Authenticator code")).to_be_visible()
    page.get_by_label("Authenticator code").fill(otp_code(cast.alice))
    page.get_by_role("button", name="Verify and sign in").click()

    expect(page.get_by_role("heading", name="Welcome, Dr Alice Adams")).to_be_visible()
    card = page.get_by_role("region", name="Alder Clinic")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Nothing is waiting for you at this site.")
    assert AuditEntry.objects.filter(action="login", actor_user=cast.alice).exists()


def test_wrong_password_is_refused(live_server: LiveServer, page: Page) -> None:
    make_cast()

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username or e-mail").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text("Username or password is incorrect.")).to_be_visible()
    assert page.url == f"{live_server.url}/login/"
    assert not [s for s in Session.objects.all() if "_auth_user_id" in s.get_decoded()]
