"""The pharmacist's page: balances, receipt and dispense forms with errors beside the field, counts
opening discrepancies, the printable record and the Form 41 draft; access by role and site."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from haven.core.testing import (
    PASSWORD,
    Cast,
    actor_of,
    client_for,
    make_credential,
    make_enrolled_course,
    otp_code,
)
from haven.dosing.services import session_open
from haven.inventory import services
from haven.inventory.models import Discrepancy, LedgerEntry, Lot, Registration, StorageLocation, Substance
from haven.inventory.services import Witness
from haven.patients.models import Visit

pytestmark = pytest.mark.django_db


def _setup(cast: Cast) -> tuple[Lot, StorageLocation]:
    registration = Registration.objects.create(
        site=cast.site_a, registrant="Alder Clinic", number="RA0000001", address="1 Main St"
    )
    substance = Substance.objects.create(
        registration=registration, name="MDMA", schedule="I", dea_code="7405"
    )
    lot = Lot.objects.create(
        substance=substance,
        lot_number="MDMA-2611-A",
        finished_form="40 mg capsule",
        strength=Decimal(40),
        units_per_container=30,
        expires_on=date(2030, 1, 1),
    )
    return lot, StorageLocation.objects.create(site=cast.site_a, name="Safe A")


def test_the_pharmacist_receives_and_dispenses_on_the_page(cast: Cast) -> None:
    lot, safe = _setup(cast)
    client = client_for(cast.pat)
    url = f"/sites/{cast.site_a.public_id}/inventory/"
    assert "Nothing received yet." in client.get(url).content.decode()
    form = {
        "receipt-lot": str(lot.public_id),
        "receipt-location": str(safe.public_id),
        "receipt-containers": "2",
        "receipt-loose_units": "0",
        "receipt-supplier_name": "Research Supply Co",
        "receipt-supplier_address": "9 Lab Way",
        "receipt-supplier_registration": "",
        "receipt-order_form_number": "222-1",
        "receipt-received_on": date.today().isoformat(),
    }
    refused = client.post(f"{url}receipts/", form)
    assert refused.status_code == 422
    assert LedgerEntry.objects.count() == 0
    assert (
        client.post(f"{url}receipts/", form | {"receipt-supplier_registration": "RS1234567"}).status_code
        == 302
    )
    course = make_enrolled_course(cast, enrolled_on=date.today() - timedelta(days=40))
    make_credential(cast.alice, cast.site_a)
    session = session_open(actor=actor_of(cast.alice), visit=Visit.objects.get(course=course, code="dose1"))
    too_many = client.post(
        f"{url}dispenses/",
        {
            "dispense-lot": str(lot.public_id),
            "dispense-location": str(safe.public_id),
            "dispense-quantity": "61",
            "dispense-session": str(session.public_id),
        },
    )
    assert too_many.status_code == 422
    assert "only 60 on hand at Safe A" in too_many.content.decode()
    client.post(
        f"{url}dispenses/",
        {
            "dispense-lot": str(lot.public_id),
            "dispense-location": str(safe.public_id),
            "dispense-quantity": "3",
            "dispense-session": str(session.public_id),
        },
    )
    page = client.get(url).content.decode()
    assert "<td>57</td>" in page
    # 3 dispensed, no dose recorded yet: the lot does not reconcile with the session.
    assert "dispensed 3, returned 0, wasted 0, but doses record 0 capsule(s)" in page
    record = client.get(f"{url}record/").content.decode()
    assert "Research Supply Co, 9 Lab Way, DEA RS1234567, order 222-1" in record


def test_a_count_on_the_page_opens_a_discrepancy_and_the_form_41_draft_shows_the_witnesses(
    cast: Cast,
) -> None:
    lot, safe = _setup(cast)
    services.receive(
        actor=actor_of(cast.pat),
        lot=lot,
        location=safe,
        containers=1,
        supplier_name="s",
        supplier_address="a",
        supplier_registration="r",
        order_form_number="o",
        received_on=date.today(),
    )
    client = client_for(cast.pat)
    url = f"/sites/{cast.site_a.public_id}/inventory/"
    client.post(
        f"{url}counts/",
        {
            "count-lot": str(lot.public_id),
            "count-location": str(safe.public_id),
            "count-counted": "28",
            "count-inventory": "ad_hoc",
            "count-at_opening": "1",
            "count-witness": str(cast.priya.public_id),
            "count-witness_password": PASSWORD,
            "count-witness_otp_code": otp_code(cast.priya),
        },
    )
    assert Discrepancy.objects.get().counted == 28
    assert "Open discrepancies" in client.get(url).content.decode()
    destroyed = services.destroy(
        actor=actor_of(cast.pat),
        lot=lot,
        location=safe,
        quantity=2,
        method="incineration",
        place="on site",
        witnesses=[
            Witness(cast.priya, PASSWORD, otp_code(cast.priya)),
            Witness(cast.morgan, PASSWORD, otp_code(cast.morgan)),
        ],
    )
    form41 = client.get(f"{url}destructions/{destroyed.public_id}/form-41/").content.decode()
    assert "DEA Form 41" in form41
    assert cast.priya.printed_name in form41
    assert cast.morgan.printed_name in form41


def test_who_sees_the_page(cast: Cast) -> None:
    url = f"/sites/{cast.site_a.public_id}/inventory/"
    assert client_for(cast.avery).get(url).status_code == 200  # the auditor reads
    assert "Record the receipt" not in client_for(cast.avery).get(url).content.decode()
    assert client_for(cast.riley).get(url).status_code == 404  # the blinded rater sees no supply
    assert client_for(cast.oscar).get(url).status_code == 404


def test_the_session_room_dispenses_from_the_ledger(cast: Cast) -> None:
    lot, safe = _setup(cast)
    services.receive(
        actor=actor_of(cast.pat),
        lot=lot,
        location=safe,
        containers=1,
        supplier_name="s",
        supplier_address="a",
        supplier_registration="r",
        order_form_number="o",
        received_on=date.today(),
    )
    course = make_enrolled_course(cast, enrolled_on=date.today() - timedelta(days=40))
    make_credential(cast.alice, cast.site_a)
    session = session_open(actor=actor_of(cast.alice), visit=Visit.objects.get(course=course, code="dose1"))
    from haven.accounts.models import Role
    from haven.accounts.services import membership_grant
    from haven.audit.context import Actor

    membership_grant(
        actor=Actor.system("test"), site=cast.site_a, user=cast.pat, role=Role.THERAPIST
    )  # on the dosing team too
    room = f"/sessions/{session.public_id}/"
    assert (
        "Dispense to this session" not in client_for(cast.alice).get(room).content.decode()
    )  # therapists do not write the ledger
    client = client_for(cast.pat)
    assert "Dispense to this session" in client.get(room).content.decode()
    form = {
        "dispense-lot": str(lot.public_id),
        "dispense-location": str(safe.public_id),
        "dispense-quantity": "40",
        "dispense-session": str(session.public_id),
    }
    refused = client.post(f"/sessions/{session.public_id}/dispense/", form, follow=True).content.decode()
    assert "Not dispensed: quantity: only 30 capsule(s) of lot MDMA-2611-A at Safe A" in refused
    done = client.post(
        f"/sessions/{session.public_id}/dispense/", form | {"dispense-quantity": "3"}, follow=True
    ).content.decode()
    assert "Dispensed 3 capsule(s) of lot MDMA-2611-A to this session." in done
    assert services.balance(lot, safe) == Decimal(27)


def test_the_inventory_report_lists_counts_with_witnesses_the_biennial_date_and_losses(cast: Cast) -> None:
    from datetime import UTC, datetime

    lot, safe = _setup(cast)
    services.receive(
        actor=actor_of(cast.pat),
        lot=lot,
        location=safe,
        containers=1,
        supplier_name="s",
        supplier_address="a",
        supplier_registration="r",
        order_form_number="o",
        received_on=date.today(),
    )
    services.count(
        actor=actor_of(cast.pat),
        lot=lot,
        location=safe,
        counted=30,
        witness=Witness(cast.priya, PASSWORD, otp_code(cast.priya)),
        inventory="initial",
    )
    services.report_loss(
        actor=actor_of(cast.pat),
        lot=lot,
        location=safe,
        quantity=1,
        discovered_at=datetime.now(UTC) - timedelta(hours=2),
        theft=True,
        circumstances="safe found open",
    )
    page = (
        client_for(cast.avery).get(f"/sites/{cast.site_a.public_id}/inventory/inventories/").content.decode()
    )
    due = date.today().replace(year=date.today().year + 2)
    assert f"Next biennial inventory due by <strong>{due:%Y-%m-%d}</strong>" in page
    assert cast.priya.printed_name in page
    assert "safe found open" in page
    assert "theft" in page
