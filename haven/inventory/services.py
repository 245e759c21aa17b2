"""Writes to the controlled-substance ledger.

Every movement goes through ``_move``: it checks the people (only pharmacists and site
administrators write; witnesses are other people in a signing role who re-enter their password and
code), locks the lot's position at the location, refuses a balance below zero, writes the entry,
audits it and records each witness's e-signature (meaning "witnessed"), all in one transaction.
Nothing is edited or deleted: a correction is a new entry naming the one it corrects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Sum

from haven.accounts.actors import user_actor
from haven.accounts.models import SIGNING_ROLES, Role, Site, User
from haven.accounts.selectors import roles_for
from haven.accounts.signing import reauthenticate
from haven.audit.context import Actor
from haven.audit.models import SignatureMeaning
from haven.audit.services import audit_create, audit_update
from haven.audit.signatures import signature_record
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from haven.core.time import local, now
from haven.dosing.models import DoseAdministration, DosingSession
from haven.inventory.models import (
    WITNESSES,
    Discrepancy,
    DiscrepancyStatus,
    EntryKind,
    LedgerEntry,
    LossReport,
    Lot,
    Registration,
    Schedule,
    StockPosition,
    StorageLocation,
    Substance,
)

WRITE_ROLES = frozenset({Role.PHARMACIST, Role.SITE_ADMIN})
READ_ROLES = frozenset({Role.PHARMACIST, Role.SITE_ADMIN, Role.AUDITOR, Role.SPONSOR_MONITOR, Role.PHYSICIAN})
FORM_106_DAYS = 45
EXACT_COUNT = frozenset({Schedule.I, Schedule.II})


@dataclass(frozen=True)
class Witness:
    user: User
    password: str
    otp_code: str = ""


def _writer(actor: Actor, site: Site) -> User:
    user = actor.user
    if user is None or not roles_for(user, site) & WRITE_ROLES:
        raise PermissionDenied("Only a pharmacist or the site administrator writes to the ledger.")
    return user


def show(value: Decimal) -> str:
    return format(value.normalize(), "f")


def balance(lot: Lot, location: StorageLocation) -> Decimal:
    total = LedgerEntry.objects.filter(lot=lot, location=location).aggregate(total=Sum("delta"))["total"]
    return exact(total)


THOUSANDTH = Decimal("0.001")


def exact(value: Decimal | None) -> Decimal:
    """A quantity to the ledger's three places, the same on every database (SQLite's SUM drops them)."""
    return (value if value is not None else Decimal(0)).quantize(THOUSANDTH)


def _quantity(value: Decimal | int, field: str = "quantity") -> Decimal:
    quantity = Decimal(value)
    if quantity <= 0:
        raise field_error(field, "must be more than 0")
    if quantity != quantity.quantize(Decimal("0.001")):
        raise field_error(field, "at most 3 decimal places")
    return quantity


def _check_witnesses(
    actor: Actor, user: User, site: Site, kind: str, witnesses: Sequence[Witness]
) -> list[Actor]:
    needed = WITNESSES.get(kind, 0)
    if len(witnesses) != needed:
        raise field_error("witnesses", f"a {EntryKind(kind).label.lower()} needs {needed} witness(es)")
    people = [w.user.pk for w in witnesses]
    if user.pk in people or len(set(people)) != len(people):
        raise field_error(
            "witnesses", "a witness is another person than the one recording, and each witness is different"
        )
    for witness in witnesses:
        if not roles_for(witness.user, site) & SIGNING_ROLES:
            raise field_error(
                "witnesses", f"{witness.user.printed_name} holds no role that signs at this site"
            )
    signers = []
    for witness in witnesses:
        signer = user_actor(witness.user, ip=actor.ip)
        reauthenticate(actor=signer, password=witness.password, otp_code=witness.otp_code)
        signers.append(signer)
    return signers


def _position(lot: Lot, location: StorageLocation) -> StockPosition:
    StockPosition.objects.get_or_create(lot=lot, location=location)
    return StockPosition.objects.select_for_update().get(lot=lot, location=location)


def _move(
    actor: Actor,
    *,
    kind: str,
    lot: Lot,
    location: StorageLocation,
    delta: Decimal,
    occurred_at: datetime | None = None,
    details: Mapping[str, Any] | None = None,
    note: str = "",
    witnesses: Sequence[Witness] = (),
    session: DosingSession | None = None,
    dose: DoseAdministration | None = None,
    corrects: LedgerEntry | None = None,
    counted: Decimal | None = None,
    pair: LedgerEntry | None = None,
    locked: bool = False,
) -> LedgerEntry:
    site = location.site
    user = _writer(actor, site)
    if lot.substance.registration.site_id != site.pk:
        raise field_error("lot", "is not a lot of this site")
    if not location.is_active:
        raise field_error("location", "is not in use")
    moment = now()
    occurred_at = occurred_at or moment
    if occurred_at.tzinfo is None or occurred_at > moment + timedelta(minutes=5):
        raise field_error("occurred_at", "must be a time with a zone, not in the future")
    signers = _check_witnesses(actor, user, site, kind, witnesses)
    with transaction.atomic():
        if not locked:
            _position(lot, location)
        on_hand = balance(lot, location)
        if on_hand + delta < 0:
            raise ValidationFailed(
                f"quantity: only {show(on_hand)} {lot.unit}(s) of lot {lot.lot_number} at {location.name}",
                fields={"quantity": [f"only {show(on_hand)} on hand at {location.name}"]},
                code="insufficient_balance",
            )
        entry = LedgerEntry.objects.create(
            site=site,
            kind=kind,
            lot=lot,
            location=location,
            delta=delta,
            counted=counted,
            occurred_at=occurred_at,
            recorded_by=user,
            details=dict(details or {}),
            note=note.strip(),
            session=session,
            dose=dose,
            corrects=corrects,
            pair=pair,
        )
        audit_create(
            actor=actor,
            instance=entry,
            fields=("kind", "lot", "location", "delta", "counted", "occurred_at", "details", "note"),
            site_id=site.public_id,
        )
        for signer in signers:
            signature_record(actor=signer, record=entry, meaning=SignatureMeaning.WITNESSED)
    return entry


def receive(
    *,
    actor: Actor,
    lot: Lot,
    location: StorageLocation,
    containers: int,
    supplier_name: str,
    supplier_address: str,
    supplier_registration: str,
    order_form_number: str,
    received_on: date,
    loose_units: int = 0,
) -> LedgerEntry:
    """A receipt (1304.22(c)): containers × units per container, from a named, registered supplier."""
    problems: dict[str, list[str]] = {}
    for name, value in (
        ("supplier_name", supplier_name),
        ("supplier_address", supplier_address),
        ("supplier_registration", supplier_registration),
        ("order_form_number", order_form_number),
    ):
        if not value.strip():
            problems[name] = ["is required"]
    if containers < 0 or loose_units < 0 or containers * lot.units_per_container + loose_units <= 0:
        problems["containers"] = ["receive at least one unit"]
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems)
    units = Decimal(containers * lot.units_per_container + loose_units)
    zone = ZoneInfo(location.site.time_zone)
    today = local(now(), location.site.time_zone).date()
    if received_on > today:
        raise field_error("received_on", "cannot be in the future")
    return _move(
        actor,
        kind=EntryKind.RECEIPT,
        lot=lot,
        location=location,
        delta=units,
        occurred_at=None if received_on == today else datetime.combine(received_on, time(12), zone),
        details={
            "supplier_name": supplier_name.strip(),
            "supplier_address": supplier_address.strip(),
            "supplier_registration": supplier_registration.strip(),
            "order_form_number": order_form_number.strip(),
            "containers": containers,
            "units_per_container": lot.units_per_container,
            "loose_units": loose_units,
            "received_on": received_on.isoformat(),
        },
    )


def transfer(
    *,
    actor: Actor,
    lot: Lot,
    source: StorageLocation,
    target: StorageLocation,
    quantity: Decimal | int,
    note: str = "",
) -> tuple[LedgerEntry, LedgerEntry]:
    amount = _quantity(quantity)
    if source.pk == target.pk:
        raise field_error("target", "must be another location")
    if source.site_id != target.site_id:
        raise field_error("target", "must be a location of the same site")
    with transaction.atomic():
        # Lock both positions in one order, so two opposite transfers cannot deadlock.
        for location in sorted((source, target), key=lambda loc: loc.pk):
            _position(lot, location)
        out = _move(
            actor,
            kind=EntryKind.TRANSFER_OUT,
            lot=lot,
            location=source,
            delta=-amount,
            note=note,
            locked=True,
            details={"to": target.name},
        )
        into = _move(
            actor,
            kind=EntryKind.TRANSFER_IN,
            lot=lot,
            location=target,
            delta=amount,
            note=note,
            locked=True,
            details={"from": source.name},
            pair=out,
        )
    return out, into


def dispense(
    *, actor: Actor, lot: Lot, location: StorageLocation, quantity: Decimal | int, session: DosingSession
) -> LedgerEntry:
    """Units taken from the safe for a dosing session (to the session's patient, by study ID)."""
    amount = _quantity(quantity)
    if session.course.site_id != location.site_id:
        raise field_error("session", "is not a session of this site")
    if lot.expires_on < local(now(), location.site.time_zone).date():
        raise field_error("lot", f"expired on {lot.expires_on:%Y-%m-%d}")
    if lot.kit_number:
        from haven.trials.services import kit_for_session_check

        kit_for_session_check(course=session.course, kit_number=lot.kit_number)
    return _move(
        actor,
        kind=EntryKind.DISPENSE,
        lot=lot,
        location=location,
        delta=-amount,
        session=session,
        details={"patient": session.course.patient.study_id, "visit": session.visit.code},
    )


def administration_record(
    *, actor: Actor, lot: Lot, location: StorageLocation, dose: DoseAdministration
) -> LedgerEntry:
    """Ties a dose given in the session room to the lot it came from (moves nothing: the units left
    stock when they were dispensed)."""
    units = dose.amount / lot.strength
    if units != units.to_integral_value():
        raise field_error(
            "dose", f"{dose.amount.normalize()} {dose.unit} is not a whole number of {lot.finished_form}s"
        )
    if dose.lot != lot.lot_number:
        raise field_error("lot", f"the dose was recorded from lot {dose.lot}")
    return _move(
        actor,
        kind=EntryKind.ADMINISTRATION,
        lot=lot,
        location=location,
        delta=Decimal(0),
        session=dose.session,
        dose=dose,
        details={"units": int(units), "administered_by": dose.administered_by.printed_name},
    )


def return_unit(
    *,
    actor: Actor,
    lot: Lot,
    location: StorageLocation,
    quantity: Decimal | int,
    session: DosingSession | None = None,
    note: str = "",
) -> LedgerEntry:
    return _move(
        actor,
        kind=EntryKind.RETURN,
        lot=lot,
        location=location,
        delta=_quantity(quantity),
        session=session,
        note=note,
    )


def waste(
    *,
    actor: Actor,
    lot: Lot,
    location: StorageLocation,
    quantity: Decimal | int,
    witness: Witness,
    reason: str,
    session: DosingSession | None = None,
) -> LedgerEntry:
    if not reason.strip():
        raise field_error("reason", "say why the dose was wasted")
    return _move(
        actor,
        kind=EntryKind.WASTE,
        lot=lot,
        location=location,
        delta=-_quantity(quantity),
        witnesses=[witness],
        session=session,
        note=reason,
    )


def destroy(
    *,
    actor: Actor,
    lot: Lot,
    location: StorageLocation,
    quantity: Decimal | int,
    method: str,
    place: str,
    witnesses: Sequence[Witness],
) -> LedgerEntry:
    """Destruction to a non-retrievable state with two witnesses (the DEA Form 41 fields)."""
    problems = {
        name: ["is required"] for name, value in (("method", method), ("place", place)) if not value.strip()
    }
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems)
    amount = _quantity(quantity)
    return _move(
        actor,
        kind=EntryKind.DESTRUCTION,
        lot=lot,
        location=location,
        delta=-amount,
        witnesses=witnesses,
        details={
            "method": method.strip(),
            "place": place.strip(),
            "full_containers": int(amount // lot.units_per_container),
            "partial_units": format(amount % lot.units_per_container, "f"),
        },
    )


def next_business_day(moment: datetime) -> datetime:
    """The end of the next business day after ``moment`` (weekends skipped; public holidays are not
    known to Haven [U] — the field office's own calendar decides)."""
    day = moment.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, datetime.max.time().replace(microsecond=0), tzinfo=moment.tzinfo)


def report_loss(
    *,
    actor: Actor,
    lot: Lot,
    location: StorageLocation,
    quantity: Decimal | int,
    discovered_at: datetime,
    theft: bool,
    circumstances: str,
) -> LedgerEntry:
    """A theft or loss: out of stock now, with the two DEA clocks started from its discovery."""
    if not circumstances.strip():
        raise field_error("circumstances", "describe what was found")
    if discovered_at.tzinfo is None or discovered_at > now() + timedelta(minutes=5):
        raise field_error("discovered_at", "must be a time with a zone, not in the future")
    with transaction.atomic():
        entry = _move(
            actor,
            kind=EntryKind.LOSS,
            lot=lot,
            location=location,
            delta=-_quantity(quantity),
            note=circumstances,
            details={"theft": theft, "discovered_at": discovered_at.isoformat()},
        )
        site_time = local(discovered_at, location.site.time_zone)
        report = LossReport.objects.create(
            entry=entry,
            discovered_at=discovered_at,
            theft=theft,
            notice_due=next_business_day(site_time),
            form106_due=discovered_at + timedelta(days=FORM_106_DAYS),
        )
        audit_create(
            actor=actor,
            instance=report,
            fields=("discovered_at", "theft", "notice_due", "form106_due"),
            site_id=location.site.public_id,
        )
    return entry


def loss_report_update(
    *,
    actor: Actor,
    report: LossReport,
    notice_sent_at: datetime | None = None,
    form106_filed_at: datetime | None = None,
    form106_number: str = "",
) -> LossReport:
    site = report.entry.site
    _writer(actor, site)
    changes: dict[str, Any] = {}
    with transaction.atomic():
        report = LossReport.objects.select_for_update().get(pk=report.pk)
        if notice_sent_at is not None:
            if report.notice_sent_at is not None:
                raise Conflict("The field office notice is already recorded.")
            changes["notice_sent_at"] = {"old": None, "new": notice_sent_at}
            report.notice_sent_at = notice_sent_at
        if form106_filed_at is not None:
            if report.form106_filed_at is not None:
                raise Conflict("Form 106 is already recorded.")
            if not form106_number.strip():
                raise field_error("form106_number", "is required with the filing")
            changes["form106_filed_at"] = {"old": None, "new": form106_filed_at}
            changes["form106_number"] = {"old": "", "new": form106_number.strip()}
            report.form106_filed_at, report.form106_number = form106_filed_at, form106_number.strip()
        if not changes:
            raise field_error("notice_sent_at", "record the notice or the Form 106 filing")
        report.save()
        audit_update(
            actor=actor,
            instance=report,
            changes=changes,
            site_id=site.public_id,
            reason="DEA reporting recorded",
        )
    return report


def count(
    *,
    actor: Actor,
    lot: Lot,
    location: StorageLocation,
    counted: Decimal | int,
    witness: Witness,
    inventory: str = "ad_hoc",
    at_opening: bool = True,
) -> LedgerEntry:
    """An inventory count (initial, biennial or ad hoc; at the opening or close of business).
    Schedule I and II are counted exactly. A count that disagrees with the balance opens a
    discrepancy."""
    found = Decimal(counted)
    if found < 0:
        raise field_error("counted", "cannot be negative")
    if lot.substance.schedule in EXACT_COUNT and found != found.to_integral_value():
        raise field_error("counted", "Schedule I and II are counted exactly, in whole units")
    if inventory not in ("initial", "biennial", "ad_hoc", "newly_scheduled"):
        raise field_error("inventory", "must be initial, biennial, ad_hoc or newly_scheduled")
    with transaction.atomic():
        _position(lot, location)
        expected = balance(lot, location)
        entry = _move(
            actor,
            kind=EntryKind.COUNT,
            lot=lot,
            location=location,
            delta=Decimal(0),
            counted=found,
            witnesses=[witness],
            locked=True,
            details={
                "inventory": inventory,
                "taken_at": "opening" if at_opening else "close",
                "expected": format(expected, "f"),
            },
        )
        if found != expected:
            discrepancy = Discrepancy.objects.create(count=entry, expected=expected, counted=found)
            audit_create(
                actor=actor,
                instance=discrepancy,
                fields=("expected", "counted"),
                site_id=location.site.public_id,
            )
    return entry


def discrepancy_resolve(
    *,
    actor: Actor,
    discrepancy: Discrepancy,
    explanation: str,
    password: str,
    otp_code: str = "",
    reviewer: Witness,
) -> Discrepancy:
    """Resolve a count's discrepancy: an adjustment by the difference found, explained, signed by the
    pharmacist (meaning "approved") and reviewed by a second person (meaning "reviewed")."""
    site = discrepancy.count.site
    user = _writer(actor, site)
    if Role.PHARMACIST not in roles_for(user, site):
        raise PermissionDenied("The pharmacist signs the adjustment.")
    if not explanation.strip():
        raise field_error("explanation", "explain the difference")
    if reviewer.user.pk == user.pk or not roles_for(reviewer.user, site) & SIGNING_ROLES:
        raise field_error("reviewer", "another person in a signing role reviews the adjustment")
    if discrepancy.status != DiscrepancyStatus.OPEN:
        raise Conflict("This discrepancy is already resolved.")
    reauthenticate(actor=actor, password=password, otp_code=otp_code)
    review = user_actor(reviewer.user, ip=actor.ip)
    reauthenticate(actor=review, password=reviewer.password, otp_code=reviewer.otp_code)
    count_entry = discrepancy.count
    with transaction.atomic():
        locked = Discrepancy.objects.select_for_update().get(pk=discrepancy.pk)
        if locked.status != DiscrepancyStatus.OPEN:
            raise Conflict("This discrepancy is already resolved.")
        adjustment = _move(
            actor,
            kind=EntryKind.ADJUSTMENT,
            lot=count_entry.lot,
            location=count_entry.location,
            delta=locked.counted - locked.expected,
            note=explanation,
            details={
                "count": str(count_entry.public_id),
                "expected": format(locked.expected, "f"),
                "counted": format(locked.counted, "f"),
            },
        )
        signature_record(actor=actor, record=adjustment, meaning=SignatureMeaning.APPROVED)
        signature_record(actor=review, record=adjustment, meaning=SignatureMeaning.REVIEWED)
        locked.status, locked.adjustment, locked.explanation = (
            DiscrepancyStatus.RESOLVED,
            adjustment,
            explanation.strip(),
        )
        locked.reviewed_by = reviewer.user
        locked.save()
        audit_update(
            actor=actor,
            instance=locked,
            changes={"status": {"old": "open", "new": "resolved"}},
            site_id=site.public_id,
            reason=explanation.strip(),
        )
    return locked


def correct(*, actor: Actor, entry: LedgerEntry, delta: Decimal | int, reason: str) -> LedgerEntry:
    """A new entry that corrects ``entry`` by ``delta`` (never an edit of it)."""
    amount = Decimal(delta)
    if amount == 0:
        raise field_error("delta", "a correction changes the balance")
    if not reason.strip():
        raise field_error("reason", "say what was wrong")
    if entry.kind in (EntryKind.COUNT, EntryKind.ADMINISTRATION, EntryKind.CORRECTION):
        raise field_error("entry", "counts, administrations and corrections are not corrected by quantity")
    return _move(
        actor,
        kind=EntryKind.CORRECTION,
        lot=entry.lot,
        location=entry.location,
        delta=amount,
        note=reason,
        corrects=entry,
        details={"corrects": str(entry.public_id)},
    )


# Setting up ---------------------------------------------------------------------------------------
def registration_create(
    *, actor: Actor, site: Site, registrant: str, number: str, address: str, phone: str = ""
) -> Registration:
    _writer(actor, site)
    problems = {
        n: ["is required"]
        for n, v in (("registrant", registrant), ("number", number), ("address", address))
        if not v.strip()
    }
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems)
    with transaction.atomic():
        if Registration.objects.filter(site=site, number=number.strip()).exists():
            raise Conflict("This registration is already recorded.")
        registration = Registration.objects.create(
            site=site,
            registrant=registrant.strip(),
            number=number.strip(),
            address=address.strip(),
            phone=phone.strip(),
        )
        audit_create(
            actor=actor,
            instance=registration,
            fields=("registrant", "number", "address"),
            site_id=site.public_id,
        )
    return registration


def substance_create(
    *, actor: Actor, registration: Registration, name: str, schedule: str, dea_code: str = ""
) -> Substance:
    _writer(actor, registration.site)
    if not name.strip():
        raise field_error("name", "is required")
    if schedule not in Schedule.values:
        raise field_error("schedule", f"must be one of {', '.join(Schedule.values)}")
    with transaction.atomic():
        substance = Substance.objects.create(
            registration=registration, name=name.strip(), schedule=schedule, dea_code=dea_code.strip()
        )
        audit_create(
            actor=actor,
            instance=substance,
            fields=("name", "schedule", "dea_code"),
            site_id=registration.site.public_id,
        )
    return substance


def location_create(
    *, actor: Actor, site: Site, name: str, description: str = "", keyholders: Sequence[User] = ()
) -> StorageLocation:
    _writer(actor, site)
    if not name.strip():
        raise field_error("name", "is required")
    with transaction.atomic():
        if StorageLocation.objects.filter(site=site, name=name.strip()).exists():
            raise Conflict("A location of that name exists.")
        location = StorageLocation.objects.create(
            site=site, name=name.strip(), description=description.strip()
        )
        location.keyholders.set(keyholders)
        audit_create(actor=actor, instance=location, fields=("name", "description"), site_id=site.public_id)
    return location


def lot_create(
    *,
    actor: Actor,
    substance: Substance,
    lot_number: str,
    finished_form: str,
    strength: Decimal,
    units_per_container: int,
    expires_on: date,
    unit: str = "capsule",
    kit_number: str = "",
) -> Lot:
    _writer(actor, substance.registration.site)
    problems: dict[str, list[str]] = {}
    if not lot_number.strip():
        problems["lot_number"] = ["is required"]
    if not finished_form.strip():
        problems["finished_form"] = ["is required, e.g. 40 mg capsule"]
    if strength <= 0:
        problems["strength"] = ["must be more than 0"]
    if units_per_container < 1:
        problems["units_per_container"] = ["at least 1"]
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems)
    with transaction.atomic():
        if Lot.objects.filter(substance=substance, lot_number=lot_number.strip()).exists():
            raise Conflict("This lot is already recorded.")
        lot = Lot.objects.create(
            substance=substance,
            lot_number=lot_number.strip(),
            finished_form=finished_form.strip(),
            strength=strength,
            units_per_container=units_per_container,
            expires_on=expires_on,
            unit=unit.strip() or "capsule",
            kit_number=kit_number.strip(),
        )
        audit_create(
            actor=actor,
            instance=lot,
            fields=("lot_number", "finished_form", "strength", "units_per_container", "expires_on"),
            site_id=substance.registration.site.public_id,
        )
    return lot
