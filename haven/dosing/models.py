"""The dosing session: its pre-session checklist, who is present, doses, vital signs and alerts.

Values are stored in UCUM units with their LOINC codes; a dose's amount is an exact decimal in the
protocol's unit. Nothing is deleted: a wrong observation is marked entered-in-error.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from haven.accounts.models import Site
from haven.core.models import BaseModel
from haven.patients.models import EnrollmentCourse, Visit
from haven.scheduling.models import Room


class SessionStatus(models.TextChoices):
    PREPARING = "preparing", "Preparing (checklist)"
    DOSED = "dosed", "Dosed, under monitoring"
    DISCHARGED = "discharged", "Discharged"


class DosingSession(BaseModel):
    course = models.ForeignKey(EnrollmentCourse, on_delete=models.PROTECT, related_name="dosing_sessions")
    visit = models.OneToOneField(Visit, on_delete=models.PROTECT, related_name="dosing_session")
    status = models.CharField(max_length=12, choices=SessionStatus.choices, default=SessionStatus.PREPARING)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    first_dose_at = models.DateTimeField(null=True, blank=True)
    staffing_gap_since = models.DateTimeField(
        null=True, blank=True, help_text="Since when fewer therapists are present than required."
    )
    # The setting, recorded per session.
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    playlist = models.CharField(max_length=300, blank=True, help_text="Reference to the music played.")
    eyeshades_offered = models.BooleanField(null=True, blank=True)
    video_recorded = models.BooleanField(null=True, blank=True)
    recording_reference = models.CharField(
        max_length=300, blank=True, help_text="Where the recording is stored (not the recording itself)."
    )
    recording_retain_until = models.DateField(null=True, blank=True)
    # Discharge.
    overnight_stay = models.BooleanField(
        null=True, blank=True, help_text="Recorded where the visit requires the patient to stay overnight."
    )
    discharged_at = models.DateTimeField(null=True, blank=True)
    discharged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    discharge_summary = models.JSONField(
        default=dict, blank=True, help_text="The discharge criteria as checked at discharge."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="discharged") | models.Q(discharged_at__isnull=False),
                name="session_discharged_has_when",
            ),
            models.CheckConstraint(
                condition=models.Q(video_recorded=True)
                | (models.Q(recording_reference="") & models.Q(recording_retain_until__isnull=True)),
                name="session_recording_only_when_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"session {self.visit.code} of {self.course.patient}"


class ChecklistAnswer(BaseModel):
    """A pre-session check confirmed by a member of staff (the newest answer per code counts)."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="checklist")
    code = models.CharField(max_length=40)
    done = models.BooleanField()
    note = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.code}: {'done' if self.done else 'not done'}"


class Presence(BaseModel):
    """A member of staff in the room, from check-in to check-out."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="presence")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20)
    is_lead = models.BooleanField(default=False)
    checked_in_at = models.DateTimeField()
    checked_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["checked_in_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "user"],
                condition=models.Q(checked_out_at__isnull=True),
                name="presence_one_open_per_person",
            ),
            models.CheckConstraint(
                condition=models.Q(checked_out_at__isnull=True)
                | models.Q(checked_out_at__gte=models.F("checked_in_at")),
                name="presence_out_after_in",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.session}"


class DoseKind(models.TextChoices):
    INITIAL = "initial", "Initial"
    SUPPLEMENTAL = "supplemental", "Supplemental"


class DoseAdministration(BaseModel):
    """A dose given: what, how much, which lot, when, by whom, witnessed (e-signature) by whom."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="doses")
    kind = models.CharField(max_length=12, choices=DoseKind.choices)
    substance = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=10, decimal_places=3)
    unit = models.CharField(max_length=10)
    lot = models.CharField(max_length=60)
    administered_at = models.DateTimeField()
    administered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    witnessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The physician who approved a supplemental dose, where the protocol asks for one.",
    )

    class Meta:
        ordering = ["administered_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="dose_amount_positive"),
            models.CheckConstraint(
                condition=~models.Q(witnessed_by=models.F("administered_by")), name="dose_witness_other"
            ),
            models.UniqueConstraint(fields=["session", "kind"], name="dose_one_of_each_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.unit} at {self.administered_at:%H:%M}"

    def signed_content(self) -> dict[str, Any]:
        return {
            "session": str(self.session.public_id),
            "kind": self.kind,
            "substance": self.substance,
            "amount": format(self.amount.normalize(), "f"),
            "unit": self.unit,
            "lot": self.lot,
            "administered_at": self.administered_at.isoformat(),
            "administered_by": str(self.administered_by.public_id),
        }

    def signing_site_id(self) -> uuid.UUID:
        return self.session.course.site.public_id


class Observation(BaseModel):
    """One vital-sign value (FHIR Observation): parameter, value in UCUM, LOINC, when, from where."""

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="observations")
    parameter = models.CharField(max_length=20)
    value = models.DecimalField(max_digits=8, decimal_places=2)
    unit = models.CharField(max_length=10)
    loinc = models.CharField(max_length=10, blank=True)
    observed_at = models.DateTimeField()
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    device_token_id = models.UUIDField(null=True, blank=True)
    device_observation_id = models.CharField(
        max_length=120, blank=True, help_text="The device's id: a retry is not stored twice."
    )
    note = models.TextField(blank=True)
    entered_in_error = models.BooleanField(default=False)
    batch_id = models.UUIDField(
        null=True,
        blank=True,
        help_text="A device batch: its audit entry is dosing.observationbatch <batch_id>.",
    )

    class Meta:
        ordering = ["observed_at", "pk"]
        indexes = [
            models.Index(fields=["session", "parameter", "observed_at"]),
            # The latest observations of a session (the room, the board, the last-200 read).
            models.Index(fields=["session", "-observed_at", "-id"], name="observation_latest"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "device_observation_id"],
                condition=~models.Q(device_observation_id=""),
                name="observation_device_id_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parameter} {self.value} {self.unit}"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class AlertAction(models.TextChoices):
    REMEASURED = "remeasured", "Re-measured"
    PHYSICIAN_CALLED = "physician_called", "Physician called"
    SUPPLEMENTAL_WITHHELD = "supplemental_withheld", "Supplemental dose withheld"
    MEDICATION_GIVEN = "medication_given", "Medication given"
    OTHER = "other", "Other"


class Alert(BaseModel):
    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="alerts")
    kind = models.CharField(max_length=12)  # limit, baseline, overdue, staffing
    parameter = models.CharField(max_length=20, blank=True)
    message = models.TextField()
    observation = models.ForeignKey(
        Observation, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    action = models.CharField(max_length=24, blank=True, choices=AlertAction.choices)
    action_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    schedule_minute = models.IntegerField(
        null=True, blank=True, help_text="For an overdue measurement: which one."
    )
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="open")
                | models.Q(acknowledged_at__isnull=False, acknowledged_by__isnull=False),
                name="alert_acknowledged_has_who",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="resolved") | models.Q(resolved_at__isnull=False),
                name="alert_resolved_has_when",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class Notification(BaseModel):
    """A message Haven sent a person (and by e-mail where they have an address), kept as a record."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications"
    )
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.PROTECT, related_name="notifications"
    )
    emergency = models.ForeignKey(
        "Emergency", null=True, blank=True, on_delete=models.PROTECT, related_name="notifications"
    )
    # Anything else a notification is about (e.g. a questionnaire's safety alert), by type and id.
    about_type = models.CharField(max_length=100, blank=True)
    about_id = models.CharField(max_length=64, blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    emailed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"to {self.recipient}: {self.subject}"


class DischargeAttestation(BaseModel):
    """A therapist's signed statement that the patient meets the discharge criteria.

    ``criteria`` keeps what the therapist confirmed (alert and oriented, escort present, notes) and
    what Haven computed at that moment; the therapist's e-signature (meaning "approved") binds it.
    """

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="attestations")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    alert_and_oriented = models.BooleanField()
    escort_present = models.BooleanField()
    escort_name = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    criteria = models.JSONField(default=dict)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["session", "therapist"], name="attestation_once_per_therapist"),
        ]

    def __str__(self) -> str:
        return f"discharge attested by {self.therapist}"

    def signed_content(self) -> dict[str, Any]:
        return {
            "session": str(self.session.public_id),
            "therapist": str(self.therapist.public_id),
            "alert_and_oriented": self.alert_and_oriented,
            "escort_present": self.escort_present,
            "escort_name": self.escort_name,
            "note": self.note,
            "criteria": self.criteria,
        }

    def signing_site_id(self) -> uuid.UUID:
        return self.session.course.site.public_id


class EmergencyStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Emergency(BaseModel):
    """A medical emergency declared in the session room, with its own timeline.

    Every emergency is flagged for serious-adverse-event review. It closes only with a physician's
    signed summary (meaning "approved").
    """

    session = models.ForeignKey(DosingSession, on_delete=models.PROTECT, related_name="emergencies")
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    declared_at = models.DateTimeField()
    description = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=EmergencyStatus.choices, default=EmergencyStatus.OPEN)
    sae_review = models.BooleanField(default=True, help_text="Flagged for serious-adverse-event review.")
    summary = models.TextField(blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-declared_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"], condition=models.Q(status="open"), name="emergency_one_open_per_session"
            ),
            models.CheckConstraint(
                condition=models.Q(status="open")
                | (models.Q(closed_at__isnull=False, closed_by__isnull=False) & ~models.Q(summary="")),
                name="emergency_closed_has_summary",
            ),
        ]

    def __str__(self) -> str:
        return f"emergency at {self.declared_at:%H:%M}"

    def signed_content(self) -> dict[str, Any]:
        return {
            "session": str(self.session.public_id),
            "declared_at": self.declared_at.isoformat(),
            "summary": self.summary,
            "events": [
                {"kind": e.kind, "at": e.at.isoformat(), "detail": e.detail, "place": e.place}
                for e in self.events.order_by("at", "pk")
            ],
        }

    def signing_site_id(self) -> uuid.UUID:
        return self.session.course.site.public_id


class EmergencyEventKind(models.TextChoices):
    INTERVENTION = "intervention", "Intervention"
    MEDICATION = "medication", "Medication given"
    EMS_CALLED = "ems_called", "Emergency services called"
    TRANSFER = "transfer", "Transfer to hospital"
    NOTE = "note", "Note"


class EmergencyEvent(BaseModel):
    emergency = models.ForeignKey(Emergency, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=EmergencyEventKind.choices)
    at = models.DateTimeField()
    detail = models.TextField()
    place = models.CharField(max_length=200, blank=True, help_text="For a transfer: the hospital.")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="transfer") | ~models.Q(place=""),
                name="emergency_transfer_has_place",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%H:%M}"


class EmergencyPlan(BaseModel):
    """The site's emergency procedure and the equipment checked before each session day."""

    site = models.OneToOneField(Site, on_delete=models.PROTECT, related_name="emergency_plan")
    procedure = models.TextField()
    equipment = models.JSONField(default=list, help_text="Names of the items to check, in order.")

    def __str__(self) -> str:
        return f"emergency plan of {self.site}"


class EquipmentCheck(BaseModel):
    """One item of emergency equipment checked at a site on a day (the newest per item counts)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    item = models.CharField(max_length=100)
    ok = models.BooleanField()
    note = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.item} on {self.day}: {'ok' if self.ok else 'not ok'}"


class OnCallShift(BaseModel):
    """A physician on call for a site from ``starts_at`` to ``ends_at``: who hears escalations."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    physician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="oncall_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.physician} on call {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M}"
