"""Inventory API under ``/api/v1/inventory/``: site-scoped; pharmacists and site administrators
write, auditors (and sponsor monitors, physicians) read. Another site's rows are "not found"."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status

from haven.accounts.auth import principal_actor, principal_user, user_auth
from haven.accounts.models import Site, User
from haven.accounts.selectors import site_member
from haven.audit.models import AuditAction
from haven.audit.services import audit_record
from haven.core.errors import NotFound, ValidationFailed
from haven.core.schemas import ERRORS
from haven.dosing.models import DoseAdministration, DosingSession
from haven.inventory import selectors, services
from haven.inventory.models import Discrepancy, LedgerEntry, Substance
from haven.inventory.services import Witness

router = Router(tags=["inventory"])


class WitnessIn(Schema):
    user_id: uuid.UUID
    password: str
    otp_code: str = ""


class EntryOut(Schema):
    id: uuid.UUID
    kind: str
    lot_id: uuid.UUID
    lot_number: str
    location: str
    delta: Decimal
    counted: Decimal | None
    occurred_at: datetime
    recorded_by: str
    details: dict[str, Any]
    note: str
    corrects: uuid.UUID | None
    session_id: uuid.UUID | None


class BalanceOut(Schema):
    lot_id: uuid.UUID
    substance: str
    lot_number: str
    finished_form: str
    location_id: uuid.UUID
    location: str
    on_hand: Decimal


class LotIn(Schema):
    substance_id: uuid.UUID
    lot_number: str
    finished_form: str
    strength: Decimal
    units_per_container: int
    expires_on: date
    unit: str = "capsule"
    kit_number: str = ""


class LotOut(Schema):
    id: uuid.UUID
    substance: str
    lot_number: str
    finished_form: str
    strength: Decimal
    units_per_container: int
    expires_on: date


class ReceiptIn(Schema):
    lot_id: uuid.UUID
    location_id: uuid.UUID
    containers: int
    loose_units: int = 0
    supplier_name: str
    supplier_address: str
    supplier_registration: str
    order_form_number: str
    received_on: date


class MoveIn(Schema):
    lot_id: uuid.UUID
    location_id: uuid.UUID
    quantity: Decimal
    session_id: uuid.UUID | None = None
    note: str = ""


class TransferIn(Schema):
    lot_id: uuid.UUID
    from_location_id: uuid.UUID
    to_location_id: uuid.UUID
    quantity: Decimal
    note: str = ""


class WasteIn(MoveIn):
    witness: WitnessIn
    reason: str


class DestructionIn(Schema):
    lot_id: uuid.UUID
    location_id: uuid.UUID
    quantity: Decimal
    method: str
    place: str
    witnesses: list[WitnessIn]


class LossIn(Schema):
    lot_id: uuid.UUID
    location_id: uuid.UUID
    quantity: Decimal
    discovered_at: datetime
    theft: bool
    circumstances: str


class CountIn(Schema):
    lot_id: uuid.UUID
    location_id: uuid.UUID
    counted: Decimal
    witness: WitnessIn
    inventory: str = "ad_hoc"
    at_opening: bool = True


class CorrectionIn(Schema):
    entry_id: uuid.UUID
    delta: Decimal
    reason: str


class ResolveIn(Schema):
    explanation: str
    password: str
    otp_code: str = ""
    reviewer: WitnessIn


class AdministrationIn(Schema):
    lot_id: uuid.UUID
    location_id: uuid.UUID
    dose_id: uuid.UUID


class ReconciliationOut(Schema):
    lot_id: uuid.UUID
    received: Decimal
    dispensed: Decimal
    returned: Decimal
    wasted: Decimal
    destroyed: Decimal
    lost: Decimal
    adjusted: Decimal
    on_hand: Decimal
    balances: bool
    mismatches: list[str]


def _site(request: HttpRequest, site_id: uuid.UUID) -> Site:
    return selectors.access_inventory_site(user=principal_user(request), site_id=site_id)


def _entry_out(e: LedgerEntry) -> EntryOut:
    return EntryOut(
        id=e.public_id,
        kind=e.kind,
        lot_id=e.lot.public_id,
        lot_number=e.lot.lot_number,
        location=e.location.name,
        delta=e.delta,
        counted=e.counted,
        occurred_at=e.occurred_at,
        recorded_by=e.recorded_by.printed_name,
        details=e.details,
        note=e.note,
        corrects=e.corrects.public_id if e.corrects else None,
        session_id=e.session.public_id if e.session else None,
    )


def _witness(site: Site, given: WitnessIn, field: str) -> Witness:
    try:
        user: User = site_member(site=site, user_id=given.user_id)
    except NotFound:
        raise ValidationFailed(
            f"{field}: not a member of staff at this site",
            fields={field: ["not a member of staff at this site"]},
        ) from None
    return Witness(user=user, password=given.password, otp_code=given.otp_code)


def _session(site: Site, session_id: uuid.UUID | None) -> DosingSession | None:
    if session_id is None:
        return None
    session = (
        DosingSession.objects.filter(public_id=session_id, course__site=site)
        .select_related("course__patient", "visit")
        .first()
    )
    if session is None:
        raise ValidationFailed(
            "session_id: not a session of this site", fields={"session_id": ["not a session of this site"]}
        )
    return session


@router.get(
    "/sites/{site_id}/balances",
    auth=user_auth,
    response={200: list[BalanceOut], **ERRORS},
    summary="On hand per lot and location",
)
def balance_list(request: HttpRequest, site_id: uuid.UUID) -> list[BalanceOut]:
    site = _site(request, site_id)
    return [
        BalanceOut(
            lot_id=b.lot.public_id,
            substance=b.lot.substance.name,
            lot_number=b.lot.lot_number,
            finished_form=b.lot.finished_form,
            location_id=b.location.public_id,
            location=b.location.name,
            on_hand=b.on_hand,
        )
        for b in selectors.balances(site)
    ]


@router.get(
    "/sites/{site_id}/entries",
    auth=user_auth,
    response={200: list[EntryOut], **ERRORS},
    summary="The ledger, in time order",
)
def entry_list(request: HttpRequest, site_id: uuid.UUID) -> list[EntryOut]:
    return [_entry_out(e) for e in selectors.dispensing_record(_site(request, site_id))]


@router.post(
    "/sites/{site_id}/lots",
    auth=user_auth,
    response={201: LotOut, **ERRORS},
    summary="Record a lot of a substance",
)
def lot_create(request: HttpRequest, site_id: uuid.UUID, payload: LotIn) -> Status[LotOut]:
    site = _site(request, site_id)
    substance = Substance.objects.filter(public_id=payload.substance_id, registration__site=site).first()
    if substance is None:
        raise ValidationFailed(
            "substance_id: not a substance of this site",
            fields={"substance_id": ["not a substance of this site"]},
        )
    lot = services.lot_create(
        actor=principal_actor(request),
        substance=substance,
        lot_number=payload.lot_number,
        finished_form=payload.finished_form,
        strength=payload.strength,
        units_per_container=payload.units_per_container,
        expires_on=payload.expires_on,
        unit=payload.unit,
        kit_number=payload.kit_number,
    )
    return Status(
        201,
        LotOut(
            id=lot.public_id,
            substance=substance.name,
            lot_number=lot.lot_number,
            finished_form=lot.finished_form,
            strength=lot.strength,
            units_per_container=lot.units_per_container,
            expires_on=lot.expires_on,
        ),
    )


@router.post(
    "/sites/{site_id}/receipts",
    auth=user_auth,
    response={201: EntryOut, **ERRORS},
    summary="Receive containers from a supplier",
)
def receipt(request: HttpRequest, site_id: uuid.UUID, payload: ReceiptIn) -> Status[EntryOut]:
    site = _site(request, site_id)
    entry = services.receive(
        actor=principal_actor(request),
        lot=selectors.access_lot(site=site, lot_id=payload.lot_id),
        location=selectors.access_location(site=site, location_id=payload.location_id),
        containers=payload.containers,
        loose_units=payload.loose_units,
        supplier_name=payload.supplier_name,
        supplier_address=payload.supplier_address,
        supplier_registration=payload.supplier_registration,
        order_form_number=payload.order_form_number,
        received_on=payload.received_on,
    )
    return Status(201, _entry_out(entry))


@router.post(
    "/sites/{site_id}/transfers",
    auth=user_auth,
    response={201: list[EntryOut], **ERRORS},
    summary="Move units between locations",
)
def transfer(request: HttpRequest, site_id: uuid.UUID, payload: TransferIn) -> Status[list[EntryOut]]:
    site = _site(request, site_id)
    out, into = services.transfer(
        actor=principal_actor(request),
        lot=selectors.access_lot(site=site, lot_id=payload.lot_id),
        source=selectors.access_location(site=site, location_id=payload.from_location_id),
        target=selectors.access_location(site=site, location_id=payload.to_location_id),
        quantity=payload.quantity,
        note=payload.note,
    )
    return Status(201, [_entry_out(out), _entry_out(into)])


@router.post(
    "/sites/{site_id}/dispenses",
    auth=user_auth,
    response={201: EntryOut, **ERRORS},
    summary="Dispense units to a dosing session",
)
def dispense(request: HttpRequest, site_id: uuid.UUID, payload: MoveIn) -> Status[EntryOut]:
    site = _site(request, site_id)
    session = _session(site, payload.session_id)
    if session is None:
        raise ValidationFailed(
            "session_id: is required for a dispense", fields={"session_id": ["is required"]}
        )
    entry = services.dispense(
        actor=principal_actor(request),
        lot=selectors.access_lot(site=site, lot_id=payload.lot_id),
        location=selectors.access_location(site=site, location_id=payload.location_id),
        quantity=payload.quantity,
        session=session,
    )
    return Status(201, _entry_out(entry))


@router.post(
    "/sites/{site_id}/administrations",
    auth=user_auth,
    response={201: EntryOut, **ERRORS},
    summary="Tie a session's dose record to its lot",
)
def administration(request: HttpRequest, site_id: uuid.UUID, payload: AdministrationIn) -> Status[EntryOut]:
    site = _site(request, site_id)
    dose = (
        DoseAdministration.objects.filter(public_id=payload.dose_id, session__course__site=site)
        .select_related("session", "administered_by")
        .first()
    )
    if dose is None:
        raise ValidationFailed(
            "dose_id: not a dose of this site", fields={"dose_id": ["not a dose of this site"]}
        )
    entry = services.administration_record(
        actor=principal_actor(request),
        lot=selectors.access_lot(site=site, lot_id=payload.lot_id),
        location=selectors.access_location(site=site, location_id=payload.location_id),
        dose=dose,
    )
    return Status(201, _entry_out(entry))


@router.post(
    "/sites/{site_id}/returns",
    auth=user_auth,
    response={201: EntryOut, **ERRORS},
    summary="Return an undispensed unit",
)
def return_unit(request: HttpRequest, site_id: uuid.UUID, payload: MoveIn) -> Status[EntryOut]:
    site = _site(request, site_id)
    entry = services.return_unit(
        actor=principal_actor(request),
        lot=selectors.access_lot(site=site, lot_id=payload.lot_id),
        location=selectors.access_location(site=site, location_id=payload.location_id),
        quantity=payload.quantity,
        session=_session(site, payload.session_id),
        note=payload.note,
    )
    return Status(201, _entry_out(entry))


@router.post(
    "/sites/{site_id}/wastes",
    auth=user_auth,
    response={201: EntryOut, **ERRORS},
    summary="Waste a partial or unused dose (witnessed)",
)
def waste(request: HttpRequest, site_id: uuid.UUID, payload: WasteIn) -> Status[EntryOut]:
    site = _site(request, site_id)
    entry = services.waste(
        actor=principal_actor(request),
        lot=selectors.access_lot(site=site, lot_id=payload.lot_id),
        location=selectors.access_location(site=site, location_id=payload.location_id),
        quantity=payload.quantity,
        witness=_witness(site, payload.witness, "witness"),
        reason=payload.reason,
        session=_session(site, payload.session_id),
    )
    return Status(201, _entry_out(entry))


@router.post(
    "/sites/{site_id}/destructions",
    auth=user_auth,
    response={201: EntryOut, **ERRORS},
    summary="Destroy units (Form 41; two witnesses)",
)
def destruction(request: HttpRequest, site_id: uuid.UUID, payload: DestructionIn) -> Status[EntryOut]:
    site = _site(request, site_id)
    entry = services.destroy(
        actor=principal_actor(request),
        lot=selectors.access_lot(site=site, lot_id=payload.lot_id),
        location=selectors.access_location(site=site, location_id=payload.location_id),
        quantity=payload.quantity,
        method=payload.method,
        place=payload.place,
        witnesses=[_witness(site, w, f"witnesses.{i}") for i, w in enumerate(payload.witnesses)],
    )
    return Status(201, _entry_out(entry))


@router.post(
    "/sites/{site_id}/losses",
    auth=user_auth,
    response={201: EntryOut, **ERRORS},
    summary="Record a loss or theft (starts the DEA clocks)",
)
def loss(request: HttpRequest, site_id: uuid.UUID, payload: LossIn) -> Status[EntryOut]:
    site = _site(request, site_id)
    entry = services.report_loss(
        actor=principal_actor(request),
        lot=selectors.access_lot(site=site, lot_id=payload.lot_id),
        location=selectors.access_location(site=site, location_id=payload.location_id),
        quantity=payload.quantity,
        discovered_at=payload.discovered_at,
        theft=payload.theft,
        circumstances=payload.circumstances,
    )
    return Status(201, _entry_out(entry))


@router.post(
    "/sites/{site_id}/counts",
    auth=user_auth,
    response={201: EntryOut, **ERRORS},
    summary="An inventory count (witnessed)",
)
def count(request: HttpRequest, site_id: uuid.UUID, payload: CountIn) -> Status[EntryOut]:
    site = _site(request, site_id)
    entry = services.count(
        actor=principal_actor(request),
        lot=selectors.access_lot(site=site, lot_id=payload.lot_id),
        location=selectors.access_location(site=site, location_id=payload.location_id),
        counted=payload.counted,
        witness=_witness(site, payload.witness, "witness"),
        inventory=payload.inventory,
        at_opening=payload.at_opening,
    )
    return Status(201, _entry_out(entry))


@router.post(
    "/sites/{site_id}/corrections",
    auth=user_auth,
    response={201: EntryOut, **ERRORS},
    summary="Correct an entry by a new entry",
)
def correction(request: HttpRequest, site_id: uuid.UUID, payload: CorrectionIn) -> Status[EntryOut]:
    site = _site(request, site_id)
    entry = services.correct(
        actor=principal_actor(request),
        entry=selectors.access_entry(site=site, entry_id=payload.entry_id),
        delta=payload.delta,
        reason=payload.reason,
    )
    return Status(201, _entry_out(entry))


@router.post(
    "/sites/{site_id}/discrepancies/{discrepancy_id}/resolve",
    auth=user_auth,
    response={200: EntryOut, **ERRORS},
    summary="Resolve a count's discrepancy: an adjustment signed by the pharmacist and reviewed",
)
def resolve(
    request: HttpRequest, site_id: uuid.UUID, discrepancy_id: uuid.UUID, payload: ResolveIn
) -> EntryOut:
    site = _site(request, site_id)
    discrepancy = (
        Discrepancy.objects.filter(public_id=discrepancy_id, count__site=site).select_related("count").first()
    )
    if discrepancy is None:
        raise NotFound("Discrepancy not found.")
    resolved = services.discrepancy_resolve(
        actor=principal_actor(request),
        discrepancy=discrepancy,
        explanation=payload.explanation,
        password=payload.password,
        otp_code=payload.otp_code,
        reviewer=_witness(site, payload.reviewer, "reviewer"),
    )
    assert resolved.adjustment is not None
    return _entry_out(resolved.adjustment)


@router.get(
    "/lots/{site_id}/{lot_id}/reconciliation",
    auth=user_auth,
    response={200: ReconciliationOut, **ERRORS},
    summary="Reconcile a lot",
)
def lot_reconciliation(request: HttpRequest, site_id: uuid.UUID, lot_id: uuid.UUID) -> ReconciliationOut:
    site = _site(request, site_id)
    r = selectors.reconciliation(selectors.access_lot(site=site, lot_id=lot_id))
    return ReconciliationOut(
        lot_id=r.lot.public_id,
        received=r.received,
        dispensed=r.dispensed,
        returned=r.returned,
        wasted=r.wasted,
        destroyed=r.destroyed,
        lost=r.lost,
        adjusted=r.adjusted,
        on_hand=r.on_hand,
        balances=r.balances,
        mismatches=r.mismatches,
    )


@router.get(
    "/sites/{site_id}/dispensing-record.csv",
    auth=user_auth,
    response={200: str, **ERRORS},
    summary="The 1304.22 record as CSV (audited export)",
)
def dispensing_csv(request: HttpRequest, site_id: uuid.UUID) -> HttpResponse:
    site = _site(request, site_id)
    return dispensing_record_csv(request, site, actor=principal_actor(request))


def dispensing_record_csv(request: HttpRequest, site: Site, *, actor: Any) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "occurred_at",
            "kind",
            "registration",
            "substance",
            "schedule",
            "finished_form",
            "units_per_container",
            "lot",
            "location",
            "quantity",
            "counted",
            "supplier",
            "supplier_address",
            "supplier_registration",
            "order_form",
            "dispensed_to",
            "recorded_by",
            "details",
            "note",
        ]
    )
    for e in selectors.dispensing_record(site):
        lot, details = e.lot, e.details
        writer.writerow(
            [
                e.occurred_at.isoformat(),
                e.kind,
                lot.substance.registration.number,
                lot.substance.name,
                lot.substance.schedule,
                lot.finished_form,
                lot.units_per_container,
                lot.lot_number,
                e.location.name,
                format(e.delta, "f"),
                format(e.counted, "f") if e.counted is not None else "",
                details.get("supplier_name", ""),
                details.get("supplier_address", ""),
                details.get("supplier_registration", ""),
                details.get("order_form_number", ""),
                e.session.course.patient.study_id if e.session else "",
                e.recorded_by.printed_name,
                "; ".join(
                    f"{k}={v}"
                    for k, v in details.items()
                    if not k.startswith("supplier") and k != "order_form_number"
                ),
                e.note,
            ]
        )
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        record_type="inventory.dispensingrecord",
        record_id=str(site.public_id),
        site_id=site.public_id,
        changes={"rows": {"old": None, "new": out.getvalue().count("\n") - 1}},
    )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dispensing-record-{site.code}.csv"'
    return response
