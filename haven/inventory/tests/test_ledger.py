"""The controlled-substance ledger through its services: every entry kind, balances that never go
negative (also under racing dispenses), witnesses, corrections, discrepancies, the append-only
trigger, and a property: any sequence of valid operations keeps the balance equal to the sum of
the entries and never below zero."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haven.audit.errors import SignatureRefused
from haven.audit.models import Signature
from haven.core.errors import ValidationFailed
from haven.core.testing import PASSWORD, Cast, actor_of, make_cast, make_enrolled_course, otp_code
from haven.dosing.models import DosingSession
from haven.dosing.services import session_open
from haven.inventory import services
from haven.inventory.models import (
    Discrepancy,
    LedgerEntry,
    LossReport,
    Lot,
    Registration,
    StorageLocation,
    Substance,
)
from haven.inventory.services import Witness
from haven.patients.models import Visit

pytestmark = pytest.mark.django_db


def _stock(cast: Cast, lot_number: str = "MDMA-40-A") -> tuple[Lot, StorageLocation, StorageLocation]:
    registration, _ = Registration.objects.get_or_create(
        site=cast.site_a, number="RA0000001", defaults={"registrant": "Alder Clinic", "address": "1 Main St"}
    )
    substance, _ = Substance.objects.get_or_create(
        registration=registration, name="MDMA", defaults={"schedule": "I", "dea_code": "7405"}
    )
    lot = Lot.objects.create(
        substance=substance,
        lot_number=lot_number,
        finished_form="40 mg capsule",
        strength=Decimal(40),
        units_per_container=30,
        expires_on=date(2030, 1, 1),
    )
    safe, _ = StorageLocation.objects.get_or_create(site=cast.site_a, name="Safe A")
    fridge, _ = StorageLocation.objects.get_or_create(site=cast.site_a, name="Locked cabinet B")
    return lot, safe, fridge


def _receive(cast: Cast, lot: Lot, location: StorageLocation, containers: int = 2) -> LedgerEntry:
    return services.receive(
        actor=actor_of(cast.pat),
        lot=lot,
        location=location,
        containers=containers,
        supplier_name="Research Supply Co",
        supplier_address="9 Lab Way",
        supplier_registration="RS1234567",
        order_form_number="222-000123",
        received_on=date.today(),
    )


def _witness(user: Any) -> Witness:
    return Witness(user=user, password=PASSWORD, otp_code=otp_code(user))


def _session(cast: Cast) -> DosingSession:
    course = make_enrolled_course(cast, enrolled_on=date.today() - timedelta(days=40))
    from haven.core.testing import make_credential

    make_credential(cast.alice, cast.site_a)
    return session_open(actor=actor_of(cast.alice), visit=Visit.objects.get(course=course, code="dose1"))


def test_every_kind_of_entry_moves_the_balance_as_it_should(cast: Cast) -> None:
    lot, safe, cabinet = _stock(cast)
    _receive(cast, lot, safe)
    assert services.balance(lot, safe) == 60
    services.transfer(actor=actor_of(cast.pat), lot=lot, source=safe, target=cabinet, quantity=10)
    assert (services.balance(lot, safe), services.balance(lot, cabinet)) == (Decimal(50), Decimal(10))
    session = _session(cast)
    services.dispense(actor=actor_of(cast.pat), lot=lot, location=cabinet, quantity=4, session=session)
    services.return_unit(actor=actor_of(cast.pat), lot=lot, location=cabinet, quantity=1, session=session)
    services.waste(
        actor=actor_of(cast.pat),
        lot=lot,
        location=cabinet,
        quantity=Decimal("0.5"),
        witness=_witness(cast.priya),
        reason="capsule broken while opening",
        session=session,
    )
    services.destroy(
        actor=actor_of(cast.pat),
        lot=lot,
        location=safe,
        quantity=2,
        method="incineration by reverse distributor",
        place="on site",
        witnesses=[_witness(cast.priya), _witness(cast.morgan)],
    )
    services.report_loss(
        actor=actor_of(cast.pat),
        lot=lot,
        location=safe,
        quantity=1,
        discovered_at=datetime.now(UTC) - timedelta(hours=1),
        theft=False,
        circumstances="count short after move",
    )
    assert services.balance(lot, safe) == 47
    assert services.balance(lot, cabinet) == Decimal("6.5")
    kinds = list(LedgerEntry.objects.filter(lot=lot).values_list("kind", flat=True))
    assert set(kinds) == {
        "receipt",
        "transfer_out",
        "transfer_in",
        "dispense",
        "return",
        "waste",
        "destruction",
        "loss",
    }
    transfer_in = LedgerEntry.objects.get(kind="transfer_in")
    assert transfer_in.pair == LedgerEntry.objects.get(kind="transfer_out")
    assert Signature.objects.filter(meaning="witnessed", record_type="inventory.ledgerentry").count() == 3
    report = LossReport.objects.get()
    assert report.form106_due == report.discovered_at + timedelta(days=45)
    assert report.notice_due > report.discovered_at
    assert report.notice_due.weekday() < 5


def test_a_movement_beyond_the_balance_is_refused_and_stores_nothing(cast: Cast) -> None:
    lot, safe, _ = _stock(cast)
    _receive(cast, lot, safe, containers=1)
    session = _session(cast)
    with pytest.raises(ValidationFailed) as refused:
        services.dispense(actor=actor_of(cast.pat), lot=lot, location=safe, quantity=31, session=session)
    assert refused.value.code == "insufficient_balance"
    assert refused.value.fields == {"quantity": ["only 30 on hand at Safe A"]}
    assert LedgerEntry.objects.filter(kind="dispense").count() == 0
    with pytest.raises(ValidationFailed):
        services.dispense(actor=actor_of(cast.pat), lot=lot, location=safe, quantity=0, session=session)


def test_only_the_pharmacist_or_site_admin_writes(cast: Cast) -> None:
    from haven.core.errors import PermissionDenied

    lot, safe, _ = _stock(cast)
    with pytest.raises(PermissionDenied):
        services.receive(
            actor=actor_of(cast.alice),
            lot=lot,
            location=safe,
            containers=1,
            supplier_name="x",
            supplier_address="y",
            supplier_registration="z",
            order_form_number="1",
            received_on=date.today(),
        )
    assert LedgerEntry.objects.count() == 0
    assert services.balance(lot, safe) == 0


def test_witnesses_are_other_people_who_sign_with_their_own_password(cast: Cast) -> None:
    lot, safe, _ = _stock(cast)
    _receive(cast, lot, safe)
    with pytest.raises(ValidationFailed) as refused:
        services.waste(
            actor=actor_of(cast.pat),
            lot=lot,
            location=safe,
            quantity=1,
            witness=_witness(cast.pat),
            reason="r",
        )
    assert "witnesses" in refused.value.fields
    with pytest.raises(ValidationFailed) as refused:
        services.destroy(
            actor=actor_of(cast.pat),
            lot=lot,
            location=safe,
            quantity=1,
            method="m",
            place="p",
            witnesses=[_witness(cast.priya)],
        )
    assert refused.value.fields == {"witnesses": ["a destruction (dea form 41) needs 2 witness(es)"]}
    with pytest.raises(ValidationFailed):
        services.destroy(
            actor=actor_of(cast.pat),
            lot=lot,
            location=safe,
            quantity=1,
            method="m",
            place="p",
            witnesses=[_witness(cast.priya), _witness(cast.priya)],
        )
    with pytest.raises(SignatureRefused):
        services.waste(
            actor=actor_of(cast.pat),
            lot=lot,
            location=safe,
            quantity=1,
            witness=Witness(user=cast.priya, password="wrong", otp_code=otp_code(cast.priya)),
            reason="r",
        )
    assert services.balance(lot, safe) == 60


def test_a_correction_is_a_new_entry_and_cannot_go_below_zero(cast: Cast) -> None:
    lot, safe, _ = _stock(cast)
    receipt = _receive(cast, lot, safe, containers=1)
    fix = services.correct(
        actor=actor_of(cast.pat), entry=receipt, delta=-2, reason="two capsules were counted twice"
    )
    assert (fix.kind, fix.corrects, services.balance(lot, safe)) == ("correction", receipt, Decimal(28))
    with pytest.raises(ValidationFailed) as refused:
        services.correct(actor=actor_of(cast.pat), entry=receipt, delta=-29, reason="wrong")
    assert refused.value.code == "insufficient_balance"


def test_the_ledger_refuses_update_and_delete_in_the_database(cast: Cast) -> None:
    lot, safe, _ = _stock(cast)
    entry = _receive(cast, lot, safe)
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(note="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).note == ""


def test_a_count_that_disagrees_opens_a_discrepancy_resolved_by_a_signed_reviewed_adjustment(
    cast: Cast,
) -> None:
    lot, safe, _ = _stock(cast)
    _receive(cast, lot, safe)
    services.count(actor=actor_of(cast.pat), lot=lot, location=safe, counted=60, witness=_witness(cast.priya))
    assert Discrepancy.objects.count() == 0
    with pytest.raises(ValidationFailed) as refused:
        services.count(
            actor=actor_of(cast.pat),
            lot=lot,
            location=safe,
            counted=Decimal("58.5"),
            witness=_witness(cast.priya),
        )
    assert refused.value.fields == {"counted": ["Schedule I and II are counted exactly, in whole units"]}
    entry = services.count(
        actor=actor_of(cast.pat),
        lot=lot,
        location=safe,
        counted=58,
        witness=_witness(cast.priya),
        inventory="biennial",
        at_opening=False,
    )
    discrepancy = Discrepancy.objects.get(count=entry)
    assert (discrepancy.expected, discrepancy.counted, discrepancy.status) == (
        Decimal(60),
        Decimal(58),
        "open",
    )
    with pytest.raises(ValidationFailed) as refused:
        services.discrepancy_resolve(
            actor=actor_of(cast.pat),
            discrepancy=discrepancy,
            explanation="x",
            password=PASSWORD,
            otp_code=otp_code(cast.pat),
            reviewer=_witness(cast.pat),
        )
    assert list(refused.value.fields) == ["reviewer"]
    resolved = services.discrepancy_resolve(
        actor=actor_of(cast.pat),
        discrepancy=discrepancy,
        explanation="two capsules found broken in the bag; wasted",
        password=PASSWORD,
        otp_code=otp_code(cast.pat),
        reviewer=_witness(cast.morgan),
    )
    assert resolved.status == "resolved"
    assert services.balance(lot, safe) == 58
    adjustment = resolved.adjustment
    assert adjustment is not None
    assert adjustment.delta == -2
    meanings = set(
        Signature.objects.filter(record_id=str(adjustment.public_id)).values_list("meaning", flat=True)
    )
    assert meanings == {"approved", "reviewed"}


def test_two_racing_dispenses_of_the_last_unit_never_both_succeed(transactional_db: None) -> None:
    cast = make_cast()
    lot, safe, _ = _stock(cast)
    services.receive(
        actor=actor_of(cast.pat),
        lot=lot,
        location=safe,
        containers=0,
        loose_units=1,
        supplier_name="s",
        supplier_address="a",
        supplier_registration="r",
        order_form_number="o",
        received_on=date.today(),
    )
    session = _session(cast)
    results: list[str] = []
    start = threading.Barrier(2)

    def take() -> None:
        try:
            start.wait()
            services.dispense(actor=actor_of(cast.pat), lot=lot, location=safe, quantity=1, session=session)
            results.append("dispensed")
        except ValidationFailed as refused:
            results.append(refused.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["dispensed", "insufficient_balance"]
    assert services.balance(lot, safe) == 0


OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["receive", "dispense", "return", "transfer", "correct"]), st.integers(1, 40)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_any_sequence_of_operations_keeps_the_balance_the_sum_of_entries_and_never_negative(
    cast: Cast, operations: list[tuple[str, int]]
) -> None:
    lot, safe, cabinet = _stock(cast, lot_number=f"P-{LedgerEntry.objects.count()}-{Lot.objects.count()}")
    session = DosingSession.objects.first() or _session(cast)
    expected = {safe.pk: Decimal(0), cabinet.pk: Decimal(0)}
    pharmacist = actor_of(cast.pat)
    refusals: list[str] = []
    for operation, amount in operations:
        try:
            if operation == "receive":
                services.receive(
                    actor=pharmacist,
                    lot=lot,
                    location=safe,
                    containers=0,
                    loose_units=amount,
                    supplier_name="s",
                    supplier_address="a",
                    supplier_registration="r",
                    order_form_number="o",
                    received_on=date.today(),
                )
                expected[safe.pk] += amount
            elif operation == "dispense":
                services.dispense(actor=pharmacist, lot=lot, location=safe, quantity=amount, session=session)
                expected[safe.pk] -= amount
            elif operation == "return":
                services.return_unit(actor=pharmacist, lot=lot, location=cabinet, quantity=amount)
                expected[cabinet.pk] += amount
            elif operation == "transfer":
                services.transfer(actor=pharmacist, lot=lot, source=safe, target=cabinet, quantity=amount)
                expected[safe.pk] -= amount
                expected[cabinet.pk] += amount
            else:
                first = LedgerEntry.objects.filter(lot=lot, location=safe, kind="receipt").first()
                if first is None:
                    continue
                services.correct(actor=pharmacist, entry=first, delta=-amount, reason="recount")
                expected[safe.pk] -= amount
        except ValidationFailed as refused:
            refusals.append(refused.code)
        assert set(refusals) <= {"insufficient_balance"}
        for location in (safe, cabinet):
            on_hand = services.balance(lot, location)
            assert on_hand >= 0
            assert on_hand == expected[location.pk]
            assert on_hand == sum(e.delta for e in LedgerEntry.objects.filter(lot=lot, location=location))
