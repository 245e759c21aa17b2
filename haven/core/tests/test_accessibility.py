"""Form fields point assistive technology at their help and their errors: every id an element names in
``aria-describedby`` (or ``aria-labelledby``) is on the page — on a fresh form and on one sent back
with errors."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from haven.core.testing import Cast, client_for

pytestmark = pytest.mark.django_db


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.named: list[tuple[str, str]] = []  # (tag, id it refers to)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        for attribute in ("aria-describedby", "aria-labelledby"):
            for ref in (values.get(attribute) or "").split():
                self.named.append((tag, ref))


def _dangling(html: str) -> list[tuple[str, str]]:
    parser = _References()
    parser.feed(html)
    return [(tag, ref) for tag, ref in parser.named if ref not in parser.ids]


def test_help_and_error_references_resolve_on_fresh_and_refused_forms(cast: Cast) -> None:
    register = f"/sites/{cast.site_a.public_id}/patients/new/"
    coordinator, statistician = client_for(cast.carmen), client_for(cast.dana)
    fresh = [coordinator.get(register), statistician.get("/studies/new/")]
    refused = [
        coordinator.post(register, {"given_name": "", "date_of_birth": "not a date"}),
        statistician.post("/studies/new/", {"title": "", "block_multiples": "9"}),
    ]
    for response in (*fresh, *refused):
        html = response.content.decode()
        assert "<form" in html
        assert _dangling(html) == []
    for response in refused:
        html = response.content.decode()
        assert 'aria-invalid="true"' in html  # the refused form marks its fields …
        assert "_error" in html  # … and points them at their messages, which are on the page
