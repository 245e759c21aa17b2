"""Electronic signatures: bound to one record's content, invalidated visibly when it changes."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import DatabaseError, transaction

from haven.accounts.errors import AccountLocked
from haven.accounts.models import Role, StaffCredential
from haven.accounts.services import credential_review, credential_update
from haven.accounts.signing import sign
from haven.audit.errors import SignatureRefused
from haven.audit.models import Signature
from haven.audit.signatures import content_hash, signatures_for
from haven.core.errors import PermissionDenied
from haven.core.testing import (
    PASSWORD,
    Cast,
    actor_of,
    client_for,
    grant,
    make_credential,
    make_user,
    otp_code,
)

pytestmark = pytest.mark.django_db


def _review(
    cast: Cast, credential_kwargs: dict[str, object] | None = None
) -> tuple[StaffCredential, Signature]:
    credential = make_credential(cast.alice, cast.site_a, **(credential_kwargs or {}))
    signature = credential_review(
        actor=actor_of(cast.morgan), credential=credential, password=PASSWORD, otp_code=otp_code(cast.morgan)
    )
    return credential, signature


def test_a_signature_records_printed_name_time_meaning_and_content_hash(cast: Cast) -> None:
    credential, signature = _review(cast)
    assert signature.printed_name == "Morgan Reyes"
    assert signature.meaning == "reviewed"
    assert signature.signer_roles == "site_admin"
    assert signature.signed_at is not None
    assert signature.content_hash == content_hash(credential)
    assert signature.audit_entry.action == "sign"
    assert signature.audit_entry.changes["content_hash"]["new"] == signature.content_hash


def test_a_signature_is_valid_while_the_record_is_unchanged(cast: Cast) -> None:
    credential, _ = _review(cast)
    [view] = signatures_for(credential)
    assert view.status == "valid"


def test_changing_a_signed_record_invalidates_its_signature(cast: Cast) -> None:
    credential, _ = _review(cast)
    credential = credential_update(
        actor=actor_of(cast.alice),
        credential=credential,
        title="Licensed clinical psychologist",
        identifier="PSY-1234",
        issuer="State Board of Psychology",
        valid_from=date(2025, 1, 1),
        valid_until=date(2028, 12, 31),
        reason="Licence renewed",
    )
    [view] = signatures_for(credential)
    assert view.status == "invalidated"
    page = client_for(cast.morgan).get(f"/sites/{cast.site_a.public_id}/").content.decode()
    assert "invalidated: changed after signing" in page
    api = client_for(cast.morgan).get(f"/api/v1/sites/{cast.site_a.public_id}/credentials").json()
    assert api[0]["signatures"][0]["status"] == "invalidated"


def test_a_signature_cannot_be_moved_to_another_record_with_the_same_content(cast: Cast) -> None:
    credential, signature = _review(cast)
    twin = make_credential(cast.alice, cast.site_a)  # same fields, different record
    assert twin.signed_content() == credential.signed_content()
    assert content_hash(twin) != signature.content_hash
    # Even a row forged to point at the twin does not verify against it.
    assert signatures_for(twin) == []


def test_signature_rows_are_append_only(cast: Cast) -> None:
    _, signature = _review(cast)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Signature.objects.filter(pk=signature.pk).update(printed_name="Someone Else")


def test_the_holder_cannot_review_their_own_credential(cast: Cast) -> None:
    grant(cast.alice, cast.site_a, Role.SITE_ADMIN)
    credential = make_credential(cast.alice, cast.site_a)
    with pytest.raises(PermissionDenied, match="someone other than its holder"):
        credential_review(
            actor=actor_of(cast.alice),
            credential=credential,
            password=PASSWORD,
            otp_code=otp_code(cast.alice),
        )
    assert not Signature.objects.exists()


def test_a_signer_without_an_authenticator_cannot_sign(cast: Cast) -> None:
    newcomer = make_user("nadia", "Nadia Petrova", mfa=False)
    credential = make_credential(cast.alice, cast.site_a)
    with pytest.raises(SignatureRefused, match="requires an enrolled authenticator"):
        sign(actor=actor_of(newcomer), record=credential, meaning="reviewed", password=PASSWORD)
    assert not Signature.objects.exists()


def test_the_signature_shows_on_the_page_with_name_and_meaning(cast: Cast) -> None:
    client = client_for(cast.morgan)
    credential = make_credential(cast.alice, cast.site_a)
    response = client.post(
        f"/credentials/{credential.public_id}/review/",
        {"password": PASSWORD, "otp_code": otp_code(cast.morgan)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    row = response.content.decode()
    assert row.startswith(f'<tr id="credential-{credential.public_id}">')
    assert "Reviewed by Morgan Reyes" in row
    assert ">valid<" in row
    assert Signature.objects.get().signer == cast.morgan


def test_a_refused_signature_on_the_page_names_the_field(cast: Cast) -> None:
    credential = make_credential(cast.alice, cast.site_a)
    response = client_for(cast.morgan).post(
        f"/credentials/{credential.public_id}/review/",
        {"password": "wrong", "otp_code": otp_code(cast.morgan)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403
    assert "password is incorrect" in response.content.decode()
    assert not Signature.objects.exists()


def test_failed_signing_attempts_count_towards_lockout(cast: Cast) -> None:
    credential = make_credential(cast.alice, cast.site_a)
    for _ in range(5):
        with pytest.raises(SignatureRefused):
            credential_review(
                actor=actor_of(cast.morgan), credential=credential, password="guess", otp_code="123456"
            )
    cast.morgan.refresh_from_db()
    assert cast.morgan.locked_until is not None
    with pytest.raises(AccountLocked):
        credential_review(
            actor=actor_of(cast.morgan),
            credential=credential,
            password=PASSWORD,
            otp_code=otp_code(cast.morgan),
        )
    assert not Signature.objects.exists()
