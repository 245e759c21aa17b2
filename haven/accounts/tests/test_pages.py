"""Pages: home and what is waiting, the security page, site pages, the audit trail page."""

from __future__ import annotations

import pytest
from django.test import Client

from haven.accounts.models import ApiToken, Role
from haven.audit.models import AuditEntry
from haven.core.testing import Cast, client_for, grant, make_credential, make_user

pytestmark = pytest.mark.django_db


def test_home_needs_login(cast: Cast) -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/?next=/"


def test_home_lists_my_sites_and_roles_only(cast: Cast) -> None:
    page = client_for(cast.alice).get("/").content.decode()
    assert "Alder Clinic" in page
    assert "Therapist" in page
    assert "Birch Unit" not in page
    assert "Nothing is waiting for you at this site." in page


def test_home_shows_a_site_admin_the_credentials_to_review(cast: Cast) -> None:
    make_credential(cast.alice, cast.site_a)
    make_credential(cast.ben, cast.site_a, identifier="PSY-99")
    page = client_for(cast.morgan).get("/").content.decode()
    assert "2 staff credentials to review" in page
    assert "2 staff credentials to review" not in client_for(cast.alice).get("/").content.decode()


def test_home_warns_a_signing_role_without_an_authenticator(cast: Cast) -> None:
    newcomer = make_user("nadia", "Nadia Petrova", mfa=False)
    grant(newcomer, cast.site_a, Role.COORDINATOR)
    assert "set up an authenticator" in client_for(newcomer).get("/").content.decode()
    assert "set up an authenticator" not in client_for(cast.alice).get("/").content.decode()


def test_security_page_creates_a_token_and_shows_it_once(cast: Cast) -> None:
    client = client_for(cast.alice)
    response = client.post("/account/security/", {"name": "analysis laptop"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    body = response.content.decode()
    assert 'data-testid="new-token"' in body
    assert token.prefix in body
    assert "analysis laptop" in body
    again = client.get("/account/security/").content.decode()
    assert 'data-testid="new-token"' not in again
    assert token.prefix in again


def test_security_page_refuses_a_blank_token_name(cast: Cast) -> None:
    response = client_for(cast.alice).post("/account/security/", {"name": ""})
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_site_page_lists_each_person_once_with_all_roles(cast: Cast) -> None:
    grant(cast.morgan, cast.site_a, Role.COORDINATOR)
    page = client_for(cast.alice).get(f"/sites/{cast.site_a.public_id}/").content.decode()
    assert page.count("Morgan Reyes") == 1
    assert "Coordinator, Site administrator" in page or "Site administrator, Coordinator" in page


def test_recording_a_credential_with_bad_dates_shows_the_error_and_saves_nothing(cast: Cast) -> None:
    response = client_for(cast.alice).post(
        f"/sites/{cast.site_a.public_id}/credentials/",
        {
            "user_id": str(cast.alice.public_id),
            "kind": "licence",
            "title": "Licence",
            "identifier": "PSY-1",
            "issuer": "Board",
            "valid_from": "2026-01-01",
            "valid_until": "2025-01-01",
        },
    )
    assert response.status_code == 422
    assert "must be on or after valid_from" in response.content.decode()
    assert not AuditEntry.objects.filter(record_type="accounts.staffcredential").exists()


def test_site_admin_creates_a_device_token_on_the_site_page(cast: Cast) -> None:
    response = client_for(cast.morgan).post(
        f"/sites/{cast.site_a.public_id}/device-tokens/", {"name": "Room 2 monitor"}
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert (token.kind, token.site) == ("device", cast.site_a)
    assert "Copy this token now" in response.content.decode()


def test_a_therapist_cannot_create_device_tokens(cast: Cast) -> None:
    response = client_for(cast.alice).post(f"/sites/{cast.site_a.public_id}/device-tokens/", {"name": "x"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_the_auditor_reads_the_site_audit_trail(cast: Cast) -> None:
    make_credential(cast.alice, cast.site_a)
    client_for(cast.morgan).post(f"/sites/{cast.site_a.public_id}/device-tokens/", {"name": "Room 2 monitor"})
    page = client_for(cast.avery).get(f"/sites/{cast.site_a.public_id}/audit/").content.decode()
    assert "accounts.apitoken" in page
    assert "Morgan Reyes" in page


def test_a_therapist_cannot_read_the_audit_trail(cast: Cast) -> None:
    assert client_for(cast.alice).get(f"/sites/{cast.site_a.public_id}/audit/").status_code == 403


def test_exporting_the_audit_trail_is_itself_audited(cast: Cast) -> None:
    client_for(cast.morgan).post(f"/sites/{cast.site_a.public_id}/device-tokens/", {"name": "Room 2 monitor"})
    response = client_for(cast.avery).get(f"/sites/{cast.site_a.public_id}/audit.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = response.getvalue().decode().splitlines()
    assert rows[0].startswith("seq,occurred_at,action,actor_name")
    assert any("accounts.apitoken" in row for row in rows[1:])
    export = AuditEntry.objects.get(action="export")
    assert export.actor_user == cast.avery
    assert export.site_id == cast.site_a.public_id


def test_the_audit_api_pages_newest_first(cast: Cast) -> None:
    for n in range(3):
        make_credential(cast.alice, cast.site_a, identifier=f"PSY-{n}")
        client_for(cast.morgan).post(
            f"/sites/{cast.site_a.public_id}/device-tokens/", {"name": f"monitor {n}"}
        )
    body = client_for(cast.avery).get(f"/api/v1/audit/sites/{cast.site_a.public_id}/entries?limit=2").json()
    assert body["count"] == 3
    assert [e["seq"] for e in body["entries"]] == sorted((e["seq"] for e in body["entries"]), reverse=True)
    assert len(body["entries"]) == 2
    assert body["entries"][0]["record_type"] == "accounts.apitoken"


def test_the_audit_api_is_not_found_for_an_outsider(cast: Cast) -> None:
    response = client_for(cast.oscar).get(f"/api/v1/audit/sites/{cast.site_a.public_id}/entries")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
