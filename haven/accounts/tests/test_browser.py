"""End to end in a real Chromium: signing in with password and authenticator code.

Skipped when no Chromium is installed, unless ``HAVEN_BROWSER_REQUIRED=1`` (as in CI), which turns
the skip into a failure.
"""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from haven.audit.models import AuditEntry, Signature
from haven.core.testing import PASSWORD, make_cast, make_credential, otp_code, sign_in

pytestmark = pytest.mark.browser


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
    sign_in(page, live_server.url, "morgan", otp_code(cast.morgan))
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
