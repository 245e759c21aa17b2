"""The audit trail: who, when, what, why and from where, append-only and hash-chained."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from haven.accounts.models import Role, Site, SiteMembership
from haven.accounts.services import membership_grant, membership_revoke, site_create, site_update
from haven.audit import triggers
from haven.audit.errors import ChainBroken
from haven.audit.models import AuditEntry
from haven.audit.services import audit_verify, entry_hash
from haven.core.errors import ValidationFailed
from haven.core.testing import Cast, actor_of

pytestmark = pytest.mark.django_db


def _last() -> AuditEntry:
    return AuditEntry.objects.order_by("-seq").first()  # type: ignore[return-value]


def test_create_records_who_what_and_from_where(cast: Cast) -> None:
    actor = actor_of(cast.morgan)
    site = site_create(actor=actor, name="Cedar House", time_zone="America/Denver")
    entry = _last()
    assert (entry.action, entry.record_type, entry.record_id) == (
        "create",
        "accounts.site",
        str(site.public_id),
    )
    assert entry.actor_user == cast.morgan
    assert entry.actor_name == "Morgan Reyes"
    assert entry.ip == "127.0.0.1"
    assert entry.changes["name"] == {"old": None, "new": "Cedar House"}
    assert entry.changes["time_zone"] == {"old": None, "new": "America/Denver"}


def test_update_records_old_and_new_value_and_reason(cast: Cast) -> None:
    site_update(
        actor=actor_of(cast.morgan),
        site=cast.site_a,
        name="Alder Clinic",
        time_zone="America/New_York",
        reason="Clinic moved to the east coast",
    )
    entry = _last()
    assert entry.action == "update"
    assert entry.actor_roles == "site_admin"
    assert entry.site_id == cast.site_a.public_id
    assert entry.changes == {"time_zone": {"old": "America/Chicago", "new": "America/New_York"}}
    assert entry.reason == "Clinic moved to the east coast"


def test_update_without_reason_is_refused_and_changes_nothing(cast: Cast) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        site_update(
            actor=actor_of(cast.morgan), site=cast.site_a, name="Renamed", time_zone="UTC", reason="  "
        )
    assert refused.value.code == "reason_required"
    assert refused.value.fields == {"reason": ["A reason is required to change or delete a saved record."]}
    cast.site_a.refresh_from_db()
    assert (cast.site_a.name, cast.site_a.time_zone) == ("Alder Clinic", "America/Chicago")
    assert AuditEntry.objects.count() == before


def test_delete_records_the_old_values_and_reason(cast: Cast) -> None:
    membership = SiteMembership.objects.get(user=cast.ben, site=cast.site_a)
    membership_revoke(actor=actor_of(cast.morgan), membership=membership, reason="Left the clinic")
    entry = _last()
    assert entry.action == "delete"
    assert entry.record_id == str(membership.public_id)
    assert entry.changes["role"] == {"old": "therapist", "new": None}
    assert entry.changes["user"] == {"old": str(cast.ben.public_id), "new": None}
    assert entry.reason == "Left the clinic"
    assert not SiteMembership.objects.filter(pk=membership.pk).exists()


def test_entries_chain_each_to_the_previous_hash(cast: Cast) -> None:
    membership_grant(actor=actor_of(cast.morgan), site=cast.site_a, user=cast.ben, role=Role.COORDINATOR)
    membership_grant(actor=actor_of(cast.morgan), site=cast.site_a, user=cast.carmen, role=Role.THERAPIST)
    first, second = AuditEntry.objects.order_by("-seq")[:2][::-1]
    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    assert entry_hash(second) == second.hash
    assert audit_verify().checked == AuditEntry.objects.count()


def test_database_refuses_update_of_an_entry(cast: Cast) -> None:
    site_create(actor=actor_of(cast.morgan), name="Cedar House", time_zone="UTC")
    entry = _last()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="tampered")
    entry.refresh_from_db()
    assert entry.reason == ""


def test_database_refuses_delete_of_an_entry(cast: Cast) -> None:
    site_create(actor=actor_of(cast.morgan), name="Cedar House", time_zone="UTC")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.count() == 1


def _tamper(sql: str, params: list[str | int]) -> None:
    """Edit the audit table behind the application's back, as a rogue DBA might."""
    triggers.remove(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        triggers.install(connection)


def test_verify_names_the_first_entry_edited_behind_the_apps_back(cast: Cast) -> None:
    actor = actor_of(cast.morgan)
    for name in ("Cedar House", "Dogwood Centre", "Elm Unit"):
        site_create(actor=actor, name=name, time_zone="UTC")
    call_command("audit", "verify")
    victim = AuditEntry.objects.get(seq=2)
    _tamper("UPDATE audit_auditentry SET reason = %s WHERE seq = %s", ["nothing to see", 2])
    with pytest.raises(
        CommandError, match=r"Audit trail broken at entry #2: content does not match its hash"
    ):
        call_command("audit", "verify")
    assert victim.hash == AuditEntry.objects.get(seq=2).hash


def test_verify_catches_a_removed_entry(cast: Cast) -> None:
    actor = actor_of(cast.morgan)
    for name in ("Cedar House", "Dogwood Centre", "Elm Unit"):
        site_create(actor=actor, name=name, time_zone="UTC")
    _tamper("DELETE FROM audit_auditentry WHERE seq = %s", [2])
    with pytest.raises(ChainBroken) as broken:
        audit_verify()
    assert broken.value.seq == 2
    assert "missing" in broken.value.problem


def test_verify_catches_removal_of_the_newest_entries(cast: Cast) -> None:
    actor = actor_of(cast.morgan)
    for name in ("Cedar House", "Dogwood Centre"):
        site_create(actor=actor, name=name, time_zone="UTC")
    _tamper("DELETE FROM audit_auditentry WHERE seq = %s", [2])
    with pytest.raises(ChainBroken, match="newest entries removed"):
        audit_verify()


def test_verify_passes_on_an_intact_chain(cast: Cast) -> None:
    site_create(actor=actor_of(cast.morgan), name="Cedar House", time_zone="UTC")
    result = audit_verify()
    assert result.checked == AuditEntry.objects.count() == 1


def test_site_create_refuses_unknown_time_zone_and_changes_nothing(cast: Cast) -> None:
    with pytest.raises(ValidationFailed) as refused:
        site_create(actor=actor_of(cast.morgan), name="Cedar House", time_zone="Mars/Olympus")
    assert "time_zone" in refused.value.fields
    assert not Site.objects.filter(name="Cedar House").exists()
    assert AuditEntry.objects.count() == 0
