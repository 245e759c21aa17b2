"""The ledger through /api/v1/inventory/: writes by the pharmacist, reads by the auditor, site isolation,
a count's discrepancy resolved, reconciliation with the session's doses, and the audited CSV."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from haven.audit.models import AuditEntry
from haven.core.testing import (
    PASSWORD,
    Cast,
    actor_of,
    client_for,
    make_credential,
    make_enrolled_course,
    otp_code,
)
from haven.dosing import services as dosing
from haven.dosing.models import DosingSession
from haven.inventory.models import Lot, Registration, StorageLocation, Substance
from haven.patients.models import Visit

pytestmark = pytest.mark.django_db


def _send(client: Client, method: str, path: str, body: object | None = None) -> Any:
    return getattr(client, method)(
        f"/api/v1/inventory{path}",
        data=json.dumps(body, default=str) if body is not None else None,
        content_type="application/json",
    )


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


def _dosed(cast: Cast) -> DosingSession:
    course = make_enrolled_course(cast, enrolled_on=date.today() - timedelta(days=40))
    make_credential(cast.alice, cast.site_a)
    make_credential(cast.ben, cast.site_a, identifier="PSY-2")
    from haven.accounts.models import Role
    from haven.core.time import now

    alice = actor_of(cast.alice)
    session = dosing.session_open(actor=alice, visit=Visit.objects.get(course=course, code="dose1"))
    for item in ("vitals", "pregnancy", "medications", "cssrs", "escort", "touch-consent", "equipment"):
        dosing.checklist_answer(actor=alice, session=session, code=item, done=True)
    dosing.presence_check_in(actor=alice, session=session, user=cast.alice, role=Role.THERAPIST, is_lead=True)
    dosing.presence_check_in(actor=alice, session=session, user=cast.ben, role=Role.THERAPIST)
    dosing.vitals_record(
        actor=alice,
        session=session,
        values={"heart_rate": (70, "/min")},
        observed_at=now() - timedelta(minutes=10),
    )
    dosing.dose_administer(
        actor=alice,
        session=session,
        kind="initial",
        amount=Decimal(120),
        lot="MDMA-2611-A",
        administered_at=now(),
        witness=cast.ben,
        witness_password=PASSWORD,
        witness_otp_code=otp_code(cast.ben),
    )
    return DosingSession.objects.get(pk=session.pk)


def test_the_pharmacist_receives_dispenses_and_reconciles_against_the_dose(cast: Cast) -> None:
    lot, safe = _setup(cast)
    site = cast.site_a.public_id
    pharmacist = client_for(cast.pat)
    receipt = {
        "lot_id": str(lot.public_id),
        "location_id": str(safe.public_id),
        "containers": 1,
        "supplier_name": "Research Supply Co",
        "supplier_address": "9 Lab Way",
        "supplier_registration": "RS1234567",
        "order_form_number": "222-000123",
        "received_on": date.today().isoformat(),
    }
    assert _send(pharmacist, "post", f"/sites/{site}/receipts", receipt).status_code == 201
    missing = _send(pharmacist, "post", f"/sites/{site}/receipts", receipt | {"supplier_registration": ""})
    assert missing.json()["fields"] == {"supplier_registration": ["is required"]}
    session = _dosed(cast)
    move = {
        "lot_id": str(lot.public_id),
        "location_id": str(safe.public_id),
        "quantity": "4",
        "session_id": str(session.public_id),
    }
    assert _send(pharmacist, "post", f"/sites/{site}/dispenses", move).status_code == 201
    recon = _send(pharmacist, "get", f"/lots/{site}/{lot.public_id}/reconciliation").json()
    assert (recon["received"], recon["dispensed"], recon["on_hand"], recon["balances"]) == (
        "30.000",
        "4.000",
        "26.000",
        True,
    )
    assert recon["mismatches"] == [
        f"{session.course.patient.study_id} dose1: dispensed 4, returned 0, wasted 0, but doses record 3 capsule(s)"
    ]
    assert _send(pharmacist, "post", f"/sites/{site}/returns", move | {"quantity": "1"}).status_code == 201
    dose = session.doses.get()
    tied = _send(
        pharmacist,
        "post",
        f"/sites/{site}/administrations",
        {"lot_id": str(lot.public_id), "location_id": str(safe.public_id), "dose_id": str(dose.public_id)},
    )
    assert tied.json()["details"]["units"] == 3
    assert _send(pharmacist, "get", f"/lots/{site}/{lot.public_id}/reconciliation").json()["mismatches"] == []
    balances = _send(pharmacist, "get", f"/sites/{site}/balances").json()
    assert [(b["lot_number"], b["location"], b["on_hand"]) for b in balances] == [
        ("MDMA-2611-A", "Safe A", "27.000")
    ]


def test_a_count_discrepancy_is_resolved_through_the_api(cast: Cast) -> None:
    lot, safe = _setup(cast)
    site = cast.site_a.public_id
    pharmacist = client_for(cast.pat)
    _send(
        pharmacist,
        "post",
        f"/sites/{site}/receipts",
        {
            "lot_id": str(lot.public_id),
            "location_id": str(safe.public_id),
            "containers": 1,
            "supplier_name": "s",
            "supplier_address": "a",
            "supplier_registration": "r",
            "order_form_number": "o",
            "received_on": date.today().isoformat(),
        },
    )
    witness = {"user_id": str(cast.priya.public_id), "password": PASSWORD, "otp_code": otp_code(cast.priya)}
    counted = _send(
        pharmacist,
        "post",
        f"/sites/{site}/counts",
        {
            "lot_id": str(lot.public_id),
            "location_id": str(safe.public_id),
            "counted": "29",
            "witness": witness,
        },
    )
    assert counted.status_code == 201
    from haven.inventory.models import Discrepancy

    discrepancy = Discrepancy.objects.get()
    body = {
        "explanation": "one capsule crushed, found in the tray",
        "password": PASSWORD,
        "otp_code": otp_code(cast.pat),
        "reviewer": {
            "user_id": str(cast.morgan.public_id),
            "password": PASSWORD,
            "otp_code": otp_code(cast.morgan),
        },
    }
    adjusted = _send(pharmacist, "post", f"/sites/{site}/discrepancies/{discrepancy.public_id}/resolve", body)
    assert adjusted.status_code == 200
    assert (adjusted.json()["kind"], adjusted.json()["delta"]) == ("adjustment", "-1.000")


def test_auditors_read_others_may_not_write_and_other_sites_see_nothing(cast: Cast) -> None:
    lot, safe = _setup(cast)
    site = cast.site_a.public_id
    auditor = client_for(cast.avery)
    assert _send(auditor, "get", f"/sites/{site}/balances").status_code == 200
    refused = _send(
        auditor,
        "post",
        f"/sites/{site}/returns",
        {"lot_id": str(lot.public_id), "location_id": str(safe.public_id), "quantity": "1"},
    )
    assert refused.status_code == 403
    assert _send(client_for(cast.oscar), "get", f"/sites/{site}/balances").status_code == 404
    assert (
        _send(client_for(cast.riley), "get", f"/sites/{site}/entries").status_code == 404
    )  # a blinded rater sees no supply
    csv = _send(auditor, "get", f"/sites/{site}/dispensing-record.csv")
    assert csv.status_code == 200
    assert csv.content.decode().splitlines()[0].startswith("occurred_at,kind,registration,substance")
    assert AuditEntry.objects.filter(action="export", record_type="inventory.dispensingrecord").count() == 1
