"""Concurrent writers never fork the audit chain (real transactions, one connection per thread)."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from haven.audit import triggers
from haven.audit.context import Actor
from haven.audit.models import AuditEntry
from haven.audit.services import audit_record, audit_verify

WRITERS = 4
EACH = 25


def test_concurrent_appends_form_one_unbroken_chain(transactional_db: None) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(EACH):
                with transaction.atomic():
                    audit_record(
                        actor=Actor.system(f"writer {n}"),
                        action="create",
                        record_type="test.thing",
                        record_id=f"{n}-{i}",
                    )
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, WRITERS * EACH + 1))
    prev_hashes = list(AuditEntry.objects.values_list("prev_hash", flat=True))
    assert len(set(prev_hashes)) == len(prev_hashes)  # no two entries extend the same parent
    assert audit_verify().checked == WRITERS * EACH


@pytest.mark.django_db
def test_postgres_refuses_truncate_of_the_audit_table() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    triggers.install(connection)
    audit_record(actor=Actor.system("test"), action="create", record_type="test.thing", record_id="1")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # settle the insert's deferred FK checks first
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE audit_auditentry CASCADE")
    assert AuditEntry.objects.count() == 1
