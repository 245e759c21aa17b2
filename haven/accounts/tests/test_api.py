"""The accounts API: envelope, site isolation, tokens, credentials and their signed review."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from haven.accounts.models import ApiToken, Site, StaffCredential, User
from haven.audit.models import AuditEntry, Signature
from haven.core.testing import PASSWORD, Cast, client_for, make_credential, otp_code

pytestmark = pytest.mark.django_db


def _json(client: Client, method: str, path: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    response = getattr(client, method)(
        path,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers=headers,
    )
    return response


def _token(cast: Cast, user_client: Client, name: str = "laptop") -> str:
    response = _json(user_client, "post", "/api/v1/tokens", {"name": name})
    assert response.status_code == 201, response.content
    secret: str = response.json()["secret"]
    return secret


# Envelope ---------------------------------------------------------------------------------------
def test_unauthenticated_requests_get_401_in_the_envelope(cast: Cast) -> None:
    response = Client().get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "message": "Authentication required: log in or send a valid API token.",
        "fields": {},
    }


def test_unknown_api_paths_answer_in_the_envelope(cast: Cast) -> None:
    response = client_for(cast.alice).get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_validation_errors_name_the_field_and_the_rule(cast: Cast) -> None:
    client = client_for(cast.morgan)
    response = _json(
        client, "patch", f"/api/v1/sites/{cast.site_a.public_id}", {"name": "x" * 201, "time_zone": "UTC"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["fields"]) == {"name", "reason"}
    assert "at most 200 characters" in body["fields"]["name"][0]
    assert body["fields"]["reason"] == ["Field required"]
    cast.site_a.refresh_from_db()
    assert cast.site_a.name == "Alder Clinic"


def test_malformed_ids_are_validation_errors(cast: Cast) -> None:
    response = client_for(cast.alice).get("/api/v1/sites/not-a-uuid")
    assert response.status_code == 422
    assert "site_id" in response.json()["fields"]


def test_openapi_document_lists_the_operations(cast: Cast) -> None:
    spec = Client().get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Haven API"
    assert "/api/v1/tokens" in spec["paths"]
    assert "/api/v1/credentials/{credential_id}/review" in spec["paths"]
    assert "ErrorOut" in spec["components"]["schemas"]


def test_the_api_docs_page_needs_no_cdn(cast: Cast) -> None:
    page = Client().get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn." not in page


# Site isolation ---------------------------------------------------------------------------------
def test_me_lists_only_my_sites_and_roles(cast: Cast) -> None:
    body = client_for(cast.morgan).get("/api/v1/me").json()
    assert body["printed_name"] == "Morgan Reyes"
    assert body["mfa_enrolled"] is True
    assert body["mfa_required"] is True
    assert [(s["name"], s["roles"]) for s in body["sites"]] == [("Alder Clinic", ["site_admin"])]


def test_an_outsider_gets_404_for_another_sites_api(cast: Cast) -> None:
    oscar = client_for(cast.oscar)
    site = cast.site_a.public_id
    for path in (f"/api/v1/sites/{site}", f"/api/v1/sites/{site}/staff", f"/api/v1/sites/{site}/credentials"):
        response = oscar.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"


def test_an_outsider_gets_404_for_another_sites_pages(cast: Cast) -> None:
    oscar = client_for(cast.oscar)
    credential = make_credential(cast.alice, cast.site_a)
    assert oscar.get(f"/sites/{cast.site_a.public_id}/").status_code == 404
    assert oscar.get(f"/sites/{cast.site_a.public_id}/audit/").status_code == 404
    response = oscar.post(f"/credentials/{credential.public_id}/review/", {"password": PASSWORD})
    assert response.status_code == 404
    assert "Not found" in response.content.decode()
    assert not Signature.objects.exists()


def test_an_outsider_cannot_change_another_site(cast: Cast) -> None:
    response = _json(
        client_for(cast.oscar),
        "patch",
        f"/api/v1/sites/{cast.site_a.public_id}",
        {"name": "Hijacked", "time_zone": "UTC", "reason": "because"},
    )
    assert response.status_code == 404
    assert Site.objects.get(pk=cast.site_a.pk).name == "Alder Clinic"


def test_a_member_without_the_role_is_refused_with_403(cast: Cast) -> None:
    response = _json(
        client_for(cast.alice),
        "patch",
        f"/api/v1/sites/{cast.site_a.public_id}",
        {"name": "Alder", "time_zone": "UTC", "reason": "tidy"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "Site administrator" in response.json()["message"]


def test_site_admin_updates_site_with_reason_and_it_is_audited(cast: Cast) -> None:
    response = _json(
        client_for(cast.morgan),
        "patch",
        f"/api/v1/sites/{cast.site_a.public_id}",
        {"name": "Alder Clinic", "time_zone": "America/Denver", "reason": "Moved"},
    )
    assert response.status_code == 200
    assert response.json()["time_zone"] == "America/Denver"
    entry = AuditEntry.objects.get(action="update", record_id=str(cast.site_a.public_id))
    assert entry.reason == "Moved"
    assert entry.ip == "127.0.0.1"


def test_site_update_with_blank_reason_is_refused_and_changes_nothing(cast: Cast) -> None:
    response = _json(
        client_for(cast.morgan),
        "patch",
        f"/api/v1/sites/{cast.site_a.public_id}",
        {"name": "Alder Clinic", "time_zone": "America/Denver", "reason": " "},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "reason_required"
    assert response.json()["fields"] == {
        "reason": ["A reason is required to change or delete a saved record."]
    }
    assert Site.objects.get(pk=cast.site_a.pk).time_zone == "America/Chicago"


# Tokens -----------------------------------------------------------------------------------------
def test_a_token_is_shown_once_and_kept_only_as_a_hash(cast: Cast) -> None:
    secret = _token(cast, client_for(cast.alice))
    token = ApiToken.objects.get()
    assert secret.startswith("hvn_")
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(list(ApiToken.objects.values()), default=str)
    listed = client_for(cast.alice).get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["laptop"]
    assert "secret" not in listed[0]


def test_a_token_acts_as_its_user_and_records_last_use(cast: Cast) -> None:
    secret = _token(cast, client_for(cast.alice))
    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    assert ApiToken.objects.get().last_used_at is not None


def test_writes_through_a_token_are_audited_with_the_token_id(cast: Cast) -> None:
    secret = _token(cast, client_for(cast.morgan))
    response = _json(
        Client(),
        "patch",
        f"/api/v1/sites/{cast.site_a.public_id}",
        {"name": "Alder Clinic", "time_zone": "UTC", "reason": "Scripted fix"},
        Authorization=f"Bearer {secret}",
    )
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="update")
    assert entry.token_id == ApiToken.objects.get().public_id
    assert entry.actor_user == cast.morgan


def test_a_revoked_token_no_longer_works(cast: Cast) -> None:
    client = client_for(cast.alice)
    secret = _token(cast, client)
    token = ApiToken.objects.get()
    response = _json(client, "post", f"/api/v1/tokens/{token.public_id}/revoke", {"reason": "laptop lost"})
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert Client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert AuditEntry.objects.get(action="update", record_id=str(token.public_id)).reason == "laptop lost"


def test_someone_elses_token_cannot_be_revoked(cast: Cast) -> None:
    _token(cast, client_for(cast.alice))
    token = ApiToken.objects.get()
    response = _json(client_for(cast.ben), "post", f"/api/v1/tokens/{token.public_id}/revoke", {})
    assert response.status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_a_device_token_is_scoped_to_its_site_and_refused_on_user_endpoints(cast: Cast) -> None:
    response = _json(
        client_for(cast.morgan),
        "post",
        "/api/v1/tokens",
        {"name": "Room 2 monitor", "kind": "device", "site_id": str(cast.site_a.public_id)},
    )
    assert response.status_code == 201
    token = ApiToken.objects.get()
    assert (token.kind, token.site, token.user) == ("device", cast.site_a, None)
    refused = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {response.json()['secret']}"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "token_scope"


def test_only_a_site_admin_creates_device_tokens(cast: Cast) -> None:
    response = _json(
        client_for(cast.alice),
        "post",
        "/api/v1/tokens",
        {"name": "monitor", "kind": "device", "site_id": str(cast.site_a.public_id)},
    )
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_a_device_token_for_another_site_is_not_found(cast: Cast) -> None:
    response = _json(
        client_for(cast.oscar),
        "post",
        "/api/v1/tokens",
        {"name": "monitor", "kind": "device", "site_id": str(cast.site_a.public_id)},
    )
    assert response.status_code == 404
    assert not ApiToken.objects.exists()


def test_a_garbage_bearer_token_is_401(cast: Cast) -> None:
    response = Client().get("/api/v1/me", headers={"Authorization": "Bearer hvn_not-a-real-token"})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_session_writes_need_the_csrf_token(cast: Cast) -> None:
    client = client_for(cast.alice)
    client.handler.enforce_csrf_checks = True
    response = _json(client, "post", "/api/v1/tokens", {"name": "x"})
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert not ApiToken.objects.exists()


# Credentials and their e-signed review ------------------------------------------------------------
def test_a_therapist_records_a_credential_and_the_admin_signs_its_review(cast: Cast) -> None:
    created = _json(
        client_for(cast.alice),
        "post",
        f"/api/v1/sites/{cast.site_a.public_id}/credentials",
        {
            "user_id": str(cast.alice.public_id),
            "kind": "licence",
            "title": "Licensed clinical psychologist",
            "identifier": "PSY-5521",
            "issuer": "State Board of Psychology",
            "valid_from": "2025-01-01",
            "valid_until": "2027-06-30",
        },
    )
    assert created.status_code == 201, created.content
    credential_id = created.json()["id"]
    assert created.json()["signatures"] == []
    signed = _json(
        client_for(cast.morgan),
        "post",
        f"/api/v1/credentials/{credential_id}/review",
        {"password": PASSWORD, "otp_code": otp_code(cast.morgan)},
    )
    assert signed.status_code == 201, signed.content
    [signature] = signed.json()["signatures"]
    assert (signature["printed_name"], signature["meaning"], signature["status"]) == (
        "Morgan Reyes",
        "reviewed",
        "valid",
    )


def test_a_credential_with_end_before_start_is_refused(cast: Cast) -> None:
    response = _json(
        client_for(cast.alice),
        "post",
        f"/api/v1/sites/{cast.site_a.public_id}/credentials",
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
    assert response.json()["fields"] == {"valid_until": ["must be on or after valid_from"]}
    assert not StaffCredential.objects.exists()


def test_signing_with_a_wrong_password_is_refused_and_audited(cast: Cast) -> None:
    credential = make_credential(cast.alice, cast.site_a)
    response = _json(
        client_for(cast.morgan),
        "post",
        f"/api/v1/credentials/{credential.public_id}/review",
        {"password": "not my password", "otp_code": otp_code(cast.morgan)},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "signature_refused"
    assert response.json()["fields"] == {"password": ["password is incorrect"]}
    assert not Signature.objects.exists()
    refused = AuditEntry.objects.get(action="login_failed", actor_user=cast.morgan)
    assert refused.changes["why"]["new"] == "signature refused: password is incorrect"
    assert User.objects.get(pk=cast.morgan.pk).failed_login_count == 1


def test_signing_without_the_authenticator_code_is_refused(cast: Cast) -> None:
    credential = make_credential(cast.alice, cast.site_a)
    response = _json(
        client_for(cast.morgan),
        "post",
        f"/api/v1/credentials/{credential.public_id}/review",
        {"password": PASSWORD},
    )
    assert response.status_code == 403
    assert response.json()["fields"] == {"otp_code": ["authenticator code is incorrect"]}
    assert not Signature.objects.exists()


def test_only_a_site_admin_may_sign_a_credential_review(cast: Cast) -> None:
    credential = make_credential(cast.alice, cast.site_a)
    response = _json(
        client_for(cast.priya),
        "post",
        f"/api/v1/credentials/{credential.public_id}/review",
        {"password": PASSWORD, "otp_code": otp_code(cast.priya)},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Signature.objects.exists()


def test_an_expired_token_no_longer_works(cast: Cast) -> None:
    soon = timezone.now() + timedelta(hours=1)
    response = _json(
        client_for(cast.alice), "post", "/api/v1/tokens", {"name": "one hour", "expires_at": soon.isoformat()}
    )
    assert response.status_code == 201
    secret = response.json()["secret"]
    assert Client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    with time_machine.travel(soon + timedelta(seconds=1)):
        assert Client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_a_token_cannot_be_created_already_expired(cast: Cast) -> None:
    response = _json(
        client_for(cast.alice), "post", "/api/v1/tokens", {"name": "x", "expires_at": "2020-01-01T00:00:00Z"}
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"expires_at": ["must be in the future"]}
    assert not ApiToken.objects.exists()


def test_a_token_of_a_deactivated_user_stops_working(cast: Cast) -> None:
    secret = _token(cast, client_for(cast.alice))
    User.objects.filter(pk=cast.alice.pk).update(is_active=False)
    assert Client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
