"""Security headers on every page."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_login_page_sends_csp_and_frame_denial(client: Client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


@pytest.mark.django_db
def test_static_assets_are_served_locally(client: Client) -> None:
    page = client.get("/login/").content.decode()
    assert "/static/django_htmx/htmx-2.min.js" in page
    assert "https://" not in page
