"""The screening record of an enrollment course, and every eligibility evaluation of it.

Entries are never deleted: a wrong entry is marked entered-in-error with a reason, and drops out
of the facts the engine sees. Each evaluation is kept, so the history of a decision can be shown.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from haven.core.models import BaseModel
from haven.patients.models import EnrollmentCourse
from haven.screening.facts import CONDITION_CATEGORIES, CSSRS_LEVELS, PSYCHIATRIC_CODES

SECTIONS = (
    "medical_history",
    "psychiatric_history",
    "psychedelic_use",
    "medications",
    "vitals",
    "ecg",
    "labs",
    "body",
    "pregnancy",
    "instruments",
)


class ScreeningRecord(BaseModel):
    course = models.OneToOneField(EnrollmentCourse, on_delete=models.PROTECT, related_name="screening")
    sections_complete = models.JSONField(default=list, help_text="Sections the screener marked complete.")
    cssrs_risk = models.CharField(max_length=10, blank=True, choices=[(c, c) for c in CSSRS_LEVELS])

    def __str__(self) -> str:
        return f"screening of {self.course.patient}"


class _Entry(BaseModel):
    """A line of the screening record. Corrected by marking it entered-in-error, never deleted."""

    record = models.ForeignKey(ScreeningRecord, on_delete=models.PROTECT, related_name="+")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_in_error = models.BooleanField(default=False)
    error_reason = models.TextField(blank=True)

    class Meta:
        abstract = True


class HistoryItem(_Entry):
    record = models.ForeignKey(ScreeningRecord, on_delete=models.PROTECT, related_name="history")
    condition = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=[(c, c) for c in CONDITION_CATEGORIES])
    code = models.CharField(max_length=40, blank=True, choices=[(c, c) for c in PSYCHIATRIC_CODES])
    onset = models.DateField(null=True, blank=True)
    current = models.BooleanField()

    def __str__(self) -> str:
        return self.condition


class PsychedelicUse(_Entry):
    record = models.ForeignKey(ScreeningRecord, on_delete=models.PROTECT, related_name="psychedelic_use")
    substance = models.CharField(max_length=100)
    lifetime_count = models.PositiveIntegerField()
    last_use = models.DateField(null=True, blank=True)
    clinical = models.BooleanField(
        help_text="Within supervised clinical care (a trial or licensed treatment)."
    )

    def __str__(self) -> str:
        return self.substance


class MedicationEntry(_Entry):
    record = models.ForeignKey(ScreeningRecord, on_delete=models.PROTECT, related_name="medications")
    name = models.CharField(max_length=200)
    drug_class = models.CharField(
        max_length=40, blank=True, help_text="A code of the drug-class table, or blank."
    )
    dose = models.CharField(max_length=100, blank=True)
    start = models.DateField(null=True, blank=True)
    stop = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stop__isnull=True)
                | models.Q(start__isnull=True)
                | models.Q(stop__gte=models.F("start")),
                name="medication_stop_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ScreeningMeasurement(_Entry):
    """A value with its UCUM unit: vitals, ECG, labs, body measures, instrument totals."""

    record = models.ForeignKey(ScreeningRecord, on_delete=models.PROTECT, related_name="measurements")
    field = models.CharField(max_length=40)
    value = models.DecimalField(max_digits=10, decimal_places=3)
    unit = models.CharField(max_length=20)
    measured_at = models.DateTimeField()
    reference_low = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    reference_high = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)

    class Meta:
        ordering = ["field", "measured_at", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.field} {self.value} {self.unit}"


class ScreeningFlag(_Entry):
    """A yes/no finding: pregnancy test positive, lactating, abnormal ECG rhythm."""

    record = models.ForeignKey(ScreeningRecord, on_delete=models.PROTECT, related_name="flags")
    name = models.CharField(max_length=40)
    value = models.BooleanField()

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Overall(models.TextChoices):
    ELIGIBLE = "eligible", "Eligible"
    INELIGIBLE = "ineligible", "Ineligible"
    INCOMPLETE = "incomplete", "Incomplete"
    ELIGIBLE_FROM = "eligible_from", "Eligible from a date"


class EligibilityEvaluation(BaseModel):
    """One run of the engine over the record as it was then. Never changed; a new one supersedes it."""

    course = models.ForeignKey(EnrollmentCourse, on_delete=models.PROTECT, related_name="evaluations")
    protocol_version = models.CharField(max_length=60)
    evaluated_on = models.DateField(help_text="The site's date the evaluation was made for.")
    overall = models.CharField(max_length=15, choices=Overall.choices)
    eligible_from = models.DateField(null=True, blank=True)
    criteria = models.JSONField(
        help_text="code, kind, text, status, value, threshold, message, pending_until, overridden"
    )
    trigger = models.CharField(max_length=200, help_text="What change led to this evaluation.")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.course.patient}: {self.overall}"


class EligibilityOverride(BaseModel):
    """A physician's signed decision that a criterion counts as met, with the reason."""

    course = models.ForeignKey(
        EnrollmentCourse, on_delete=models.PROTECT, related_name="eligibility_overrides"
    )
    criterion_code = models.CharField(max_length=40)
    reason = models.TextField()
    physician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "criterion_code"], name="one_override_per_criterion")
        ]

    def __str__(self) -> str:
        return f"override of {self.criterion_code} for {self.course.patient}"

    def signed_content(self) -> dict[str, Any]:
        return {"course": str(self.course.public_id), "criterion": self.criterion_code, "reason": self.reason}

    def signing_site_id(self) -> uuid.UUID:
        return self.course.site.public_id
