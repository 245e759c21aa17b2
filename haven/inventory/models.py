"""The controlled-substance ledger: every unit from receipt to patient or destruction.

Entries are append-only (a database trigger refuses UPDATE and DELETE) and never edited: a
correction is a new entry that names the one it corrects. A balance per lot and storage location
is derived from the entries (the sum of their signed ``delta``) and can never go negative: every
movement locks its ``StockPosition`` row first, so two dispenses racing for the last unit are
served one after the other. Quantities are exact decimals of the lot's unit (a capsule, a mL).

Sources: 21 CFR 1304.21/1304.22 (continuing records), 1304.11 (inventories), 1301.75 (storage),
1301.76(b) (theft or significant loss; DEA Form 106), Form DEA-41 (destruction); clinical
reference section 6.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from haven.accounts.models import Site
from haven.core.models import BaseModel


class Schedule(models.TextChoices):
    I = "I", "Schedule I"  # noqa: E741 - the DEA's own name
    II = "II", "Schedule II"
    III = "III", "Schedule III"
    IV = "IV", "Schedule IV"
    V = "V", "Schedule V"


class Registration(BaseModel):
    """A DEA registration of the site (registrant, number, address): it heads every report."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="registrations")
    registrant = models.CharField(max_length=200)
    number = models.CharField(max_length=20)
    address = models.TextField()
    phone = models.CharField(max_length=40, blank=True)
    activity = models.CharField(max_length=60, default="Researcher (Schedule I)")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "number"], name="registration_unique_at_site")]

    def __str__(self) -> str:
        return f"{self.registrant} ({self.number})"


class Substance(BaseModel):
    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="substances")
    name = models.CharField(max_length=100)
    schedule = models.CharField(max_length=3, choices=Schedule.choices)
    dea_code = models.CharField(max_length=10, blank=True, help_text="DEA controlled-substance code number.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registration", "name"], name="substance_unique_per_registration")
        ]

    def __str__(self) -> str:
        return f"{self.name} (Schedule {self.schedule})"


class StorageLocation(BaseModel):
    """A locked place (a safe, a locked cabinet) and the people who hold its keys."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="storage_locations")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    keyholders = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="location_name_unique_at_site")]

    def __str__(self) -> str:
        return self.name


class Lot(BaseModel):
    substance = models.ForeignKey(Substance, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=60, help_text="The manufacturer's or supplier's lot.")
    finished_form = models.CharField(max_length=100, help_text='e.g. "40 mg capsule"')
    unit = models.CharField(max_length=20, default="capsule", help_text="What one unit of quantity is.")
    strength = models.DecimalField(
        max_digits=10,
        decimal_places=3,
        help_text="Amount of substance in one unit, in the dose's unit (e.g. 40 mg).",
    )
    units_per_container = models.PositiveIntegerField()
    expires_on = models.DateField()
    kit_number = models.CharField(
        max_length=40, blank=True, help_text="Blinded supply: the kit, not the arm."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["substance", "lot_number"], name="lot_unique_per_substance")
        ]

    def __str__(self) -> str:
        return f"{self.substance.name} lot {self.lot_number} ({self.finished_form})"


class StockPosition(models.Model):
    """The row locked before any movement of one lot at one location (no balance is stored here)."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lot", "location"], name="one_position_per_lot_location")
        ]

    def __str__(self) -> str:
        return f"{self.lot} at {self.location}"


class EntryKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    TRANSFER_IN = "transfer_in", "Transfer in"
    DISPENSE = "dispense", "Dispensed to a dosing session"
    ADMINISTRATION = "administration", "Administered (the session's dose record)"
    RETURN = "return", "Return of an undispensed unit"
    WASTE = "waste", "Waste of a partial or unused dose"
    DESTRUCTION = "destruction", "Destruction (DEA Form 41)"
    LOSS = "loss", "Loss or theft"
    COUNT = "count", "Inventory count"
    ADJUSTMENT = "adjustment", "Adjustment (explained, signed, reviewed)"
    CORRECTION = "correction", "Correction of an earlier entry"


# The sign each kind may move the balance by: +1 adds, -1 removes, 0 moves nothing (a count).
DIRECTION: dict[str, int] = {
    EntryKind.RECEIPT: 1,
    EntryKind.TRANSFER_OUT: -1,
    EntryKind.TRANSFER_IN: 1,
    EntryKind.DISPENSE: -1,
    EntryKind.RETURN: 1,
    EntryKind.WASTE: -1,
    EntryKind.DESTRUCTION: -1,
    EntryKind.LOSS: -1,
    EntryKind.COUNT: 0,
    EntryKind.ADMINISTRATION: 0,
}
# Entries a second person witnesses with their own e-signature, and how many.
WITNESSES: dict[str, int] = {EntryKind.WASTE: 1, EntryKind.DESTRUCTION: 2, EntryKind.COUNT: 1}


class LedgerEntry(BaseModel):
    """One line of the ledger. Append-only; ``delta`` is the signed change of the balance of
    ``lot`` at ``location`` (0 for a count, whose ``counted`` holds what was found)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="entries")
    location = models.ForeignKey(StorageLocation, on_delete=models.PROTECT, related_name="entries")
    delta = models.DecimalField(max_digits=12, decimal_places=3)
    counted = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    occurred_at = models.DateTimeField(help_text="When it actually happened (1304.21: the actual date).")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    details = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    pair = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The other half of a transfer.",
    )
    session = models.ForeignKey(
        "dosing.DosingSession", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    dose = models.ForeignKey(
        "dosing.DoseAdministration",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )

    class Meta:
        ordering = ["occurred_at", "pk"]
        indexes = [models.Index(fields=["lot", "location"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="count", delta=0, counted__gte=0)
                | models.Q(kind="administration", delta=0, counted__isnull=True)
                | (
                    ~models.Q(kind__in=["count", "administration"])
                    & ~models.Q(delta=0)
                    & models.Q(counted__isnull=True)
                ),
                name="entry_only_counts_and_administrations_move_nothing",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=["receipt", "transfer_in", "return"]) | models.Q(delta__gt=0),
                name="entry_additions_positive",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=["transfer_out", "dispense", "waste", "destruction", "loss"])
                | models.Q(delta__lt=0),
                name="entry_removals_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="correction") | models.Q(corrects__isnull=False),
                name="entry_correction_names_its_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.delta} of {self.lot} at {self.location}"

    def signed_content(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "lot": str(self.lot.public_id),
            "location": str(self.location.public_id),
            "delta": format(self.delta, "f"),
            "counted": format(self.counted, "f") if self.counted is not None else None,
            "occurred_at": self.occurred_at.isoformat(),
            "recorded_by": str(self.recorded_by.public_id),
            "details": self.details,
        }

    def signing_site_id(self) -> uuid.UUID:
        return self.site.public_id


class DiscrepancyStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class Discrepancy(BaseModel):
    """A count that disagrees with the derived balance. Resolved by an explained adjustment signed
    by the pharmacist and reviewed (signed) by a second person."""

    count = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="discrepancy")
    expected = models.DecimalField(max_digits=12, decimal_places=3)
    counted = models.DecimalField(max_digits=12, decimal_places=3)
    status = models.CharField(max_length=8, choices=DiscrepancyStatus.choices, default=DiscrepancyStatus.OPEN)
    adjustment = models.OneToOneField(
        LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="resolves"
    )
    explanation = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="open")
                | (models.Q(adjustment__isnull=False, reviewed_by__isnull=False) & ~models.Q(explanation="")),
                name="discrepancy_resolved_explained",
            ),
        ]

    def __str__(self) -> str:
        return f"count {self.counted} vs {self.expected}"


class LossReport(BaseModel):
    """The clocks of a theft or significant loss (21 CFR 1301.76(b)): notice to the DEA field
    office within one business day of discovery; DEA Form 106 within 45 days."""

    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="loss_report")
    discovered_at = models.DateTimeField()
    theft = models.BooleanField()
    notice_due = models.DateTimeField()
    form106_due = models.DateTimeField()
    notice_sent_at = models.DateTimeField(null=True, blank=True)
    form106_filed_at = models.DateTimeField(null=True, blank=True)
    form106_number = models.CharField(max_length=60, blank=True)

    def __str__(self) -> str:
        return f"loss discovered {self.discovered_at:%Y-%m-%d}"
