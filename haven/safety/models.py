"""Safety: adverse events, their SAE clocks and reports, causality assessments and solicited checklists.

One definition of an adverse event everywhere (ICH E2A): any untoward medical occurrence in a patient
given the study drug, whether or not it is considered related, and whether it feels pleasant or not.
Nothing is deleted: a wrong record is marked entered-in-error with its reason, and every version of
an event is kept.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from haven.core.models import BaseModel
from haven.dosing.models import Alert, DoseAdministration, DosingSession, Emergency
from haven.outcomes.models import SafetyAlert
from haven.patients.models import EnrollmentCourse, Visit

AE_DEFINITION = (
    "Any untoward medical occurrence in a patient given the study drug, whether or not it is "
    "considered related to it (ICH E2A), pleasant or 'positive' effects such as euphoria included."
)


class AeStatus(models.TextChoices):
    DRAFT = "draft", "Draft (needs review)"
    RECORDED = "recorded", "Recorded"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class Severity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class Relatedness(models.TextChoices):
    NOT_RELATED = "not_related", "Not related"
    UNLIKELY = "unlikely", "Unlikely"
    POSSIBLE = "possible", "Possible"
    PROBABLE = "probable", "Probable"
    DEFINITE = "definite", "Definite"


RELATED = frozenset({Relatedness.POSSIBLE, Relatedness.PROBABLE, Relatedness.DEFINITE})


class ActionTaken(models.TextChoices):
    NONE = "none", "Dose not changed"
    WITHHELD = "withheld", "Drug interrupted / supplemental dose withheld"
    REDUCED = "reduced", "Dose reduced"
    WITHDRAWN = "withdrawn", "Drug withdrawn"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    UNKNOWN = "unknown", "Unknown"


class AeOutcome(models.TextChoices):
    RECOVERED = "recovered", "Recovered / resolved"
    RECOVERING = "recovering", "Recovering / resolving"
    NOT_RECOVERED = "not_recovered", "Not recovered / not resolved"
    SEQUELAE = "sequelae", "Recovered with sequelae"
    FATAL = "fatal", "Fatal"
    UNKNOWN = "unknown", "Unknown"


SERIOUSNESS_CRITERIA = (
    ("death", "Results in death"),
    ("life_threatening", "Is life-threatening"),
    ("hospitalisation", "Requires or prolongs hospitalisation"),
    ("disability", "Results in persistent or significant disability"),
    ("congenital_anomaly", "Is a congenital anomaly / birth defect"),
    ("other_important", "Other important medical event"),
)


class AdverseEvent(BaseModel):
    course = models.ForeignKey(EnrollmentCourse, on_delete=models.PROTECT, related_name="adverse_events")
    status = models.CharField(max_length=20, choices=AeStatus.choices, default=AeStatus.RECORDED)
    version = models.PositiveIntegerField(default=1)
    verbatim_term = models.CharField(max_length=300, help_text=AE_DEFINITION)
    description = models.TextField(blank=True)
    # MedDRA coding: done later by a data manager, from the site's licensed dictionary.
    meddra_llt_code = models.CharField(max_length=12, blank=True)
    meddra_llt_name = models.CharField(max_length=200, blank=True)
    meddra_pt_code = models.CharField(max_length=12, blank=True)
    meddra_pt_name = models.CharField(max_length=200, blank=True)
    meddra_soc_code = models.CharField(max_length=12, blank=True)
    meddra_soc_name = models.CharField(max_length=200, blank=True)
    coded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    coded_at = models.DateTimeField(null=True, blank=True)
    onset_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    severity = models.CharField(max_length=10, blank=True, choices=Severity.choices)
    ctcae_grade = models.PositiveSmallIntegerField(null=True, blank=True)
    # Seriousness (ICH E2A): serious when any criterion holds.
    death = models.BooleanField(default=False)
    life_threatening = models.BooleanField(default=False)
    hospitalisation = models.BooleanField(default=False)
    disability = models.BooleanField(default=False)
    congenital_anomaly = models.BooleanField(default=False)
    other_important = models.BooleanField(default=False)
    serious = models.BooleanField(default=False)
    awareness_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the site first learnt of a serious event: its clocks start here.",
    )
    death_date = models.DateField(null=True, blank=True)
    relatedness = models.CharField(max_length=12, blank=True, choices=Relatedness.choices)
    expected = models.BooleanField(
        null=True, blank=True, help_text="Listed in the reference safety information."
    )
    action_taken = models.CharField(max_length=16, blank=True, choices=ActionTaken.choices)
    outcome = models.CharField(max_length=16, blank=True, choices=AeOutcome.choices)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reporter_role = models.CharField(max_length=20)
    aesi_categories = models.JSONField(default=list, blank=True)
    aesi_manual = models.JSONField(default=list, blank=True, help_text="Categories chosen by hand.")
    session = models.ForeignKey(
        DosingSession, null=True, blank=True, on_delete=models.PROTECT, related_name="adverse_events"
    )
    dose = models.ForeignKey(
        DoseAdministration, null=True, blank=True, on_delete=models.PROTECT, related_name="adverse_events"
    )
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="adverse_events"
    )
    source_alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.PROTECT, related_name="adverse_events"
    )
    source_emergency = models.ForeignKey(
        Emergency, null=True, blank=True, on_delete=models.PROTECT, related_name="adverse_events"
    )
    source_safety_alert = models.ForeignKey(
        SafetyAlert, null=True, blank=True, on_delete=models.PROTECT, related_name="adverse_events"
    )
    emergency_timeline = models.JSONField(
        default=list, blank=True, help_text="The emergency's timeline as it stood when the event was drafted."
    )
    error_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-onset_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(serious=False) | models.Q(awareness_at__isnull=False),
                name="ae_serious_has_awareness",
            ),
            models.CheckConstraint(
                condition=models.Q(death=False) | models.Q(death_date__isnull=False),
                name="ae_death_has_date",
            ),
            models.CheckConstraint(
                condition=models.Q(ctcae_grade__isnull=True)
                | models.Q(ctcae_grade__gte=1, ctcae_grade__lte=5),
                name="ae_ctcae_grade_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="entered_in_error") | ~models.Q(error_reason=""),
                name="ae_error_has_reason",
            ),
            models.UniqueConstraint(
                fields=["source_emergency"],
                condition=models.Q(source_emergency__isnull=False),
                name="ae_one_per_emergency",
            ),
            models.UniqueConstraint(
                fields=["source_safety_alert"],
                condition=models.Q(source_safety_alert__isnull=False),
                name="ae_one_per_safety_alert",
            ),
        ]

    def __str__(self) -> str:
        return f"AE {self.verbatim_term}"

    def criteria(self) -> list[str]:
        return [name for name, _ in SERIOUSNESS_CRITERIA if getattr(self, name)]


class AdverseEventVersion(BaseModel):
    """Each saved state of an adverse event, with who changed it and why."""

    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    data = models.JSONField()
    reason = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["event", "number"]
        constraints = [models.UniqueConstraint(fields=["event", "number"], name="ae_version_unique")]


class ClockKind(models.TextChoices):
    INITIAL = "initial", "Initial report to the sponsor"
    EXPEDITED = "expedited", "Expedited regulatory report"


class SaeClock(BaseModel):
    """A reporting deadline of a serious event; a submitted report of its kind stops it."""

    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="clocks")
    kind = models.CharField(max_length=10, choices=ClockKind.choices)
    due_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(
        null=True, blank=True, help_text="When the team was told the deadline is near (once per deadline)."
    )

    class Meta:
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["event", "kind"], name="sae_clock_one_per_kind")]


class ReportKind(models.TextChoices):
    INITIAL = "initial", "Initial"
    FOLLOW_UP = "follow_up", "Follow-up"
    EXPEDITED = "expedited", "Expedited (regulatory)"


class SaeReport(BaseModel):
    """A report sent about a serious event: initial, follow-up N, or expedited; each with a narrative."""

    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="reports")
    kind = models.CharField(max_length=10, choices=ReportKind.choices)
    number = models.PositiveIntegerField(help_text="1 for the first report of its kind, then 2, 3…")
    narrative = models.TextField()
    submitted_at = models.DateTimeField()
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    event_version = models.PositiveIntegerField(help_text="The version of the event the report describes.")

    class Meta:
        ordering = ["submitted_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["event", "kind", "number"], name="sae_report_number")]


class Capacity(models.TextChoices):
    INVESTIGATOR = "investigator", "Investigator"
    MEDICAL_MONITOR = "medical_monitor", "Medical monitor"


class CausalityAssessment(BaseModel):
    """An investigator's or the medical monitor's signed assessment of causality."""

    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="assessments")
    capacity = models.CharField(max_length=16, choices=Capacity.choices)
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    relatedness = models.CharField(max_length=12, choices=Relatedness.choices)
    expected = models.BooleanField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def signed_content(self) -> dict[str, Any]:
        return {
            "event": str(self.event.public_id),
            "capacity": self.capacity,
            "relatedness": self.relatedness,
            "expected": self.expected,
            "comment": self.comment,
        }

    def signing_site_id(self) -> uuid.UUID:
        return self.event.course.site.public_id


class SolicitedChecklist(BaseModel):
    """A solicited-effects checklist at one of the protocol's time points; "none" is an explicit answer."""

    course = models.ForeignKey(
        EnrollmentCourse, on_delete=models.PROTECT, related_name="solicited_checklists"
    )
    time_point = models.CharField(max_length=40)
    session = models.ForeignKey(
        DosingSession, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    none_reported = models.BooleanField()
    answers = models.JSONField(default=dict, help_text="effect code → true (present) / false (absent).")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The member of staff who asked; empty when the patient answered through the portal.",
    )
    source = models.CharField(
        max_length=8, default="staff", choices=[("staff", "Staff"), ("portal", "Patient, portal")]
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source="portal") | models.Q(by__isnull=False),
                name="solicited_staff_entry_has_who",
            ),
        ]
