"""Outcomes: instrument responses and their scores, the patient portal's links, and safety alerts.

A response keeps what was answered, with the instrument's version, who completed it and when.
Scores live beside it, one row per scorer version: when a scoring rule changes, the old score is
kept and the new one is stored next to it, never over it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haven.core.models import BaseModel
from haven.patients.models import EnrollmentCourse, Visit


class ResponseSource(models.TextChoices):
    PORTAL = "portal", "Patient, through the portal"
    STAFF = "staff", "Entered by staff"


class Respondent(models.TextChoices):
    PATIENT = "patient", "Patient"
    THERAPIST = "therapist", "Therapist"
    RATER = "rater", "Rater"
    CLINICIAN = "clinician", "Clinician"


class FormRequest(BaseModel):
    """A form asked of the patient outside the protocol's schedule (measurement-based care between
    visits, e.g. a PHQ-9 next week). Completed by a response; cancelled with a reason."""

    course = models.ForeignKey(EnrollmentCourse, on_delete=models.PROTECT, related_name="form_requests")
    instrument = models.CharField(max_length=40)
    due_on = models.DateField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return f"{self.instrument} requested for {self.due_on}"


class Response(BaseModel):
    course = models.ForeignKey(EnrollmentCourse, on_delete=models.PROTECT, related_name="responses")
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="responses"
    )
    request = models.OneToOneField(
        FormRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="response"
    )
    instrument = models.CharField(max_length=40)
    instrument_version = models.CharField(max_length=40)
    answers = models.JSONField()
    source = models.CharField(max_length=8, choices=ResponseSource.choices)
    respondent = models.CharField(max_length=10, choices=Respondent.choices, default=Respondent.PATIENT)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The member of staff who entered it (on the patient's behalf, or as the rater).",
    )
    completed_at = models.DateTimeField()
    entered_in_error = models.BooleanField(default=False)
    error_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["completed_at", "pk"]
        indexes = [models.Index(fields=["course", "instrument", "completed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source="portal") | models.Q(entered_by__isnull=False),
                name="response_staff_entry_has_who",
            ),
            models.CheckConstraint(
                condition=models.Q(entered_in_error=False) | ~models.Q(error_reason=""),
                name="response_error_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} of {self.course.patient} at {self.completed_at:%Y-%m-%d}"


class ResponseScore(BaseModel):
    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="scores")
    scorer_version = models.CharField(max_length=20)
    total = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    subscores = models.JSONField(default=dict, blank=True)
    band = models.CharField(max_length=60, blank=True)
    flags = models.JSONField(default=list, blank=True)
    missing_rule = models.CharField(max_length=300, blank=True)
    complete = models.BooleanField()
    detail = models.JSONField(default=dict, blank=True, help_text="Instrument-specific results.")

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["response", "scorer_version"], name="score_once_per_scorer_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.response.instrument} {self.total} ({self.scorer_version})"


class SecondFactor(models.TextChoices):
    NONE = "none", "None"
    DATE_OF_BIRTH = "dob", "Date of birth"
    PIN = "pin", "PIN"


class PortalLink(BaseModel):
    """A patient's secure link: a random secret (only its hash is stored), expiring, scoped to that
    patient's due forms, optionally with a second factor."""

    course = models.ForeignKey(EnrollmentCourse, on_delete=models.PROTECT, related_name="portal_links")
    secret_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    second_factor = models.CharField(max_length=4, choices=SecondFactor.choices, default=SecondFactor.NONE)
    pin_hash = models.CharField(max_length=200, blank=True)
    failed_attempts = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=10, help_text="email, sms or console")
    sent_to = models.CharField(max_length=200, blank=True, help_text="Masked address.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(second_factor="pin") | ~models.Q(pin_hash=""), name="portal_pin_has_hash"
            ),
        ]

    def __str__(self) -> str:
        return f"portal link of {self.course.patient}"


class PortalDraft(BaseModel):
    """Answers saved so far for one due form, so a patient can stop and come back."""

    link = models.ForeignKey(PortalLink, on_delete=models.CASCADE, related_name="drafts")
    instrument = models.CharField(max_length=40)
    form_key = models.CharField(max_length=60, help_text="v-<visit id> or r-<request id>")
    answers = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "instrument", "form_key"], name="draft_once_per_form"),
        ]

    def __str__(self) -> str:
        return f"draft {self.instrument}"


class PortalMessage(BaseModel):
    """A message sent to a patient (the link, or a reminder); the secret itself is never kept."""

    course = models.ForeignKey(EnrollmentCourse, on_delete=models.PROTECT, related_name="portal_messages")
    link = models.ForeignKey(PortalLink, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, help_text="link or reminder")
    channel = models.CharField(max_length=10)
    sent_to = models.CharField(max_length=200)
    body = models.TextField(help_text="As sent, with the link's secret removed.")
    instrument = models.CharField(max_length=40, blank=True)
    form_key = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} to {self.sent_to}"


class SafetyAlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class SafetyAction(models.TextChoices):
    PATIENT_CONTACTED = "patient_contacted", "Patient contacted"
    SAFETY_PLAN = "safety_plan", "Safety plan reviewed"
    CLINICIAN_ASSESSMENT = "clinician_assessment", "Clinician assessment arranged"
    EMERGENCY_SERVICES = "emergency_services", "Emergency services called"
    OTHER = "other", "Other"


class SafetyAlert(BaseModel):
    """A sign of suicidality in a questionnaire: it must be acknowledged by the care team."""

    course = models.ForeignKey(EnrollmentCourse, on_delete=models.PROTECT, related_name="safety_alerts")
    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="safety_alerts")
    kind = models.CharField(max_length=20, default="suicidality")
    message = models.TextField()
    status = models.CharField(
        max_length=12, choices=SafetyAlertStatus.choices, default=SafetyAlertStatus.OPEN
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    action = models.CharField(max_length=24, blank=True, choices=SafetyAction.choices)
    action_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="open")
                | models.Q(acknowledged_at__isnull=False, acknowledged_by__isnull=False),
                name="safety_alert_acknowledged_has_who",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="resolved") | models.Q(resolved_at__isnull=False),
                name="safety_alert_resolved_has_when",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


DEFAULT_CRISIS_TEXT = (
    "If you are thinking about harming yourself or you are in danger now, call your local emergency "
    "number (911 in the US) or the 988 Suicide & Crisis Lifeline (call or text 988 in the US). "
    "You can also call the clinic and ask for the clinician on call."
)


class PortalText(BaseModel):
    """What the portal shows a site's patients besides their forms: how to reach the clinic, and
    where to turn in a crisis. Until a site sets its own, Haven's default crisis text is shown."""

    site = models.OneToOneField("accounts.Site", on_delete=models.PROTECT, related_name="portal_text")
    contact_text = models.TextField()
    crisis_text = models.TextField()

    def __str__(self) -> str:
        return f"portal text of {self.site}"
