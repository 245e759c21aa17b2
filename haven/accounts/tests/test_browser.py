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

from haven.audit.models import AuditEntry, Signature
from haven.core.testing import PASSWORD, make_cast, make_credential, otp_code

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
    """A fresh tab; the test fails if the page logs an error (a CSP violation, a script error)."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})  # a landscape tablet
    tab = context.new_page()
    problems: list[str] = []
    # 4xx answers are expected (a refused signature); the browser logs each as "Failed to load
    # resource", which is not a page fault. Anything else at error level is.
    tab.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error"
            and not message.text.startswith(
                "Failed to load resource: the server responded with a status of 4"
            )
            else None
        ),
    )
    tab.on("pageerror", lambda error: problems.append(str(error)))
    try:
        yield tab
        assert problems == [], f"the browser reported errors: {problems}"
    finally:
        context.close()


def _sign_in(page: Page, url: str, username: str, code: str) -> None:
    page.goto(f"{url}/login/")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Authenticator code").fill(code)
    page.get_by_role("button", name="Verify and sign in").click()


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


def test_a_site_admin_signs_a_credential_review_in_place(live_server: LiveServer, page: Page) -> None:
    cast = make_cast()
    credential = make_credential(cast.alice, cast.site_a)
    _sign_in(page, live_server.url, "morgan", otp_code(cast.morgan))
    page.get_by_role("link", name="Alder Clinic").click()
    row = page.locator(f"#credential-{credential.public_id}")
    expect(row).to_contain_text("not reviewed")

    row.get_by_text("Sign review").click()
    row.get_by_label("Password").fill("a wrong password")
    row.get_by_label("Authenticator code").fill(otp_code(cast.morgan))
    row.get_by_role("button", name="Sign as Morgan Reyes").click()
    expect(page.locator(f"#credential-{credential.public_id}")).to_contain_text("password is incorrect")
    assert not Signature.objects.exists()

    row = page.locator(f"#credential-{credential.public_id}")
    row.get_by_label("Password").fill(PASSWORD)
    # The login used this window's code; otp_code gives the next unused one.
    row.get_by_label("Authenticator code").fill(otp_code(cast.morgan))
    row.get_by_role("button", name="Sign as Morgan Reyes").click()
    expect(page.locator(f"#credential-{credential.public_id}")).to_contain_text("Reviewed by Morgan Reyes")
    signature = Signature.objects.get()
    assert (signature.signer, signature.meaning) == (cast.morgan, "reviewed")
