"""Reads of the ledger: access checks, balances, reconciliation, and the rows of the DEA reports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet, Sum

from haven.accounts.models import Site, SiteMembership, User
from haven.accounts.selectors import sites_for
from haven.core.errors import NotFound
from haven.core.ids import parse_public_id
from haven.core.time import local
from haven.dosing.models import DoseAdministration
from haven.inventory.models import (
    Discrepancy,
    DiscrepancyStatus,
    EntryKind,
    LedgerEntry,
    LossReport,
    Lot,
    StorageLocation,
)
from haven.inventory.services import READ_ROLES, balance, exact

# Records are kept at least two years from their date (21 CFR 1304.04(a)); the ledger refuses
# deletion outright, so this is what the pages show, not a purge date.
RETENTION_YEARS = 2


def inventory_sites(user: User) -> QuerySet[Site]:
    return sites_for(user).filter(
        pk__in=SiteMembership.objects.filter(user=user, role__in=READ_ROLES).values("site_id")
    )


def access_inventory_site(*, user: User, site_id: uuid.UUID | str) -> Site:
    site = inventory_sites(user).filter(public_id=parse_public_id(site_id)).first()
    if site is None:
        raise NotFound("Site not found.")
    return site


def access_lot(*, site: Site, lot_id: uuid.UUID | str) -> Lot:
    lot = (
        Lot.objects.filter(public_id=parse_public_id(lot_id), substance__registration__site=site)
        .select_related("substance__registration")
        .first()
    )
    if lot is None:
        raise NotFound("Lot not found.")
    return lot


def access_location(*, site: Site, location_id: uuid.UUID | str) -> StorageLocation:
    location = StorageLocation.objects.filter(public_id=parse_public_id(location_id), site=site).first()
    if location is None:
        raise NotFound("Storage location not found.")
    return location


def access_entry(*, site: Site, entry_id: uuid.UUID | str) -> LedgerEntry:
    entry = (
        LedgerEntry.objects.filter(public_id=parse_public_id(entry_id), site=site)
        .select_related("lot__substance", "location")
        .first()
    )
    if entry is None:
        raise NotFound("Entry not found.")
    return entry


@dataclass(frozen=True)
class Balance:
    lot: Lot
    location: StorageLocation
    on_hand: Decimal


def balances(site: Site) -> list[Balance]:
    rows = (
        LedgerEntry.objects.filter(site=site)
        .values("lot", "location")
        .annotate(on_hand=Sum("delta"))
        .order_by("lot", "location")
    )
    lots = {
        lot.pk: lot
        for lot in Lot.objects.filter(substance__registration__site=site).select_related("substance")
    }
    locations = {loc.pk: loc for loc in StorageLocation.objects.filter(site=site)}
    return [Balance(lots[r["lot"]], locations[r["location"]], exact(r["on_hand"])) for r in rows]


@dataclass(frozen=True)
class Reconciliation:
    """received − dispensed + returned − wasted − destroyed − lost ± adjustments and corrections = on hand."""

    lot: Lot
    received: Decimal
    dispensed: Decimal
    returned: Decimal
    wasted: Decimal
    destroyed: Decimal
    lost: Decimal
    adjusted: Decimal
    on_hand: Decimal
    balances: bool
    mismatches: list[str] = field(default_factory=list)


def reconciliation(lot: Lot) -> Reconciliation:
    totals = dict(
        LedgerEntry.objects.filter(lot=lot).values_list("kind").annotate(total=Sum("delta")).order_by()
    )

    def total(kind: str) -> Decimal:
        return exact(totals.get(kind))

    received = total(EntryKind.RECEIPT)
    dispensed = -total(EntryKind.DISPENSE)
    returned = total(EntryKind.RETURN)
    wasted = -total(EntryKind.WASTE)
    destroyed = -total(EntryKind.DESTRUCTION)
    lost = -total(EntryKind.LOSS)
    adjusted = total(EntryKind.ADJUSTMENT) + total(EntryKind.CORRECTION)
    on_hand = sum(
        (balance(lot, location) for location in StorageLocation.objects.filter(entries__lot=lot).distinct()),
        Decimal(0),
    )
    return Reconciliation(
        lot=lot,
        received=received,
        dispensed=dispensed,
        returned=returned,
        wasted=wasted,
        destroyed=destroyed,
        lost=lost,
        adjusted=adjusted,
        on_hand=on_hand,
        balances=received - dispensed + returned - wasted - destroyed - lost + adjusted == on_hand,
        mismatches=session_mismatches(lot),
    )


def session_mismatches(lot: Lot) -> list[str]:
    """Every dose given from this lot must match what was dispensed to its session (less returns and
    waste), and every dispense must end in a dose or a return: the differences, in words."""
    problems = []
    site = lot.substance.registration.site
    doses = DoseAdministration.objects.filter(lot=lot.lot_number, session__course__site=site).select_related(
        "session__course__patient", "session__visit"
    )
    sessions = {d.session_id: d.session for d in doses}
    for entry in LedgerEntry.objects.filter(lot=lot, session__isnull=False).select_related(
        "session__course__patient", "session__visit"
    ):
        assert entry.session is not None
        sessions.setdefault(entry.session_id, entry.session)  # type: ignore[arg-type]
    for session in sessions.values():
        given = sum((d.amount / lot.strength for d in doses if d.session_id == session.pk), Decimal(0))
        moved = LedgerEntry.objects.filter(lot=lot, session=session)
        dispensed = -(moved.filter(kind=EntryKind.DISPENSE).aggregate(t=Sum("delta"))["t"] or Decimal(0))
        returned = moved.filter(kind=EntryKind.RETURN).aggregate(t=Sum("delta"))["t"] or Decimal(0)
        wasted = -(moved.filter(kind=EntryKind.WASTE).aggregate(t=Sum("delta"))["t"] or Decimal(0))
        if dispensed - returned - wasted != given:
            problems.append(
                f"{session.course.patient.study_id} {session.visit.code}: dispensed {_n(dispensed)}, returned "
                f"{_n(returned)}, wasted {_n(wasted)}, but doses record {_n(given)} {lot.unit}(s)"
            )
    return problems


def _n(value: Decimal) -> str:
    return format(value.normalize(), "f")


def open_discrepancies(site: Site) -> list[Discrepancy]:
    return list(
        Discrepancy.objects.filter(count__site=site, status=DiscrepancyStatus.OPEN).select_related(
            "count__lot__substance", "count__location"
        )
    )


def loss_clocks(site: Site) -> list[LossReport]:
    return list(
        LossReport.objects.filter(entry__site=site)
        .filter(form106_filed_at__isnull=True)
        .select_related("entry__lot__substance", "entry__location")
        .order_by("notice_due")
    )


def dispensing_record(site: Site, *, since: date | None = None) -> list[LedgerEntry]:
    """The continuing record (21 CFR 1304.22(c)): every receipt, dispense, administration, return,
    waste, destruction, loss, count and adjustment, in time order."""
    entries = LedgerEntry.objects.filter(site=site).select_related(
        "lot__substance__registration", "location", "recorded_by", "session__course__patient", "dose"
    )
    if since is not None:
        entries = entries.filter(occurred_at__date__gte=since)
    return list(entries.order_by("occurred_at", "pk"))


def inventory_counts(site: Site, *, kind: str | None = None) -> list[LedgerEntry]:
    """Inventory counts (initial, biennial, ad hoc, newly scheduled), newest first."""
    entries = LedgerEntry.objects.filter(site=site, kind=EntryKind.COUNT).select_related(
        "lot__substance__registration", "location", "recorded_by"
    )
    if kind is not None:
        entries = entries.filter(details__inventory=kind)
    return list(entries.order_by("-occurred_at", "-pk"))


def biennial_due(site: Site, today: date) -> date | None:
    """When the next biennial inventory is due: two years after the last initial or biennial one."""
    last = (
        LedgerEntry.objects.filter(
            site=site, kind=EntryKind.COUNT, details__inventory__in=["initial", "biennial"]
        )
        .order_by("-occurred_at")
        .first()
    )
    if last is None:
        return None
    taken = local(last.occurred_at, site.time_zone).date()
    try:
        return taken.replace(year=taken.year + 2)
    except ValueError:  # 29 February
        return taken.replace(year=taken.year + 2, day=28)


def losses(site: Site) -> list[LossReport]:
    return list(
        LossReport.objects.filter(entry__site=site)
        .select_related("entry__lot__substance", "entry__location", "entry__recorded_by")
        .order_by("-discovered_at")
    )
