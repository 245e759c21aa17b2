"""Project-wide pytest fixtures: the cast, transactional databases, and a real browser."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page, sync_playwright

from haven.audit import triggers
from haven.core import events
from haven.core.testing import Cast, make_cast


@pytest.fixture
def cast(db: None) -> Cast:
    return make_cast()


@pytest.fixture
def transactional_db(transactional_db: None) -> Iterator[None]:
    """Tests that commit for real (races, the browser) end with a flush of every table.

    The audit tables and the ledger refuse DELETE and TRUNCATE, so the triggers are dropped for these tests.
    pytest-django runs all of them after the ordinary database tests, which keep the triggers.
    A live board's LISTEN connection (PostgreSQL) is closed after each, so the test database
    can be dropped at the end.
    """
    triggers.remove(connection, triggers.TABLES + triggers.OTHER_APPEND_ONLY)
    yield
    events.stop_listener()


# A real browser (Debian's Chromium driven by Playwright) ---------------------------------------
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
    # 4xx answers are expected (a refused form); the browser logs each as "Failed to load
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
