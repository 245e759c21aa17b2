"""Rooms, appointments and the staff booked for them; calendar feed tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haven.accounts.models import Site
from haven.core.models import BaseModel
from haven.patients.models import Visit


class RoomKind(models.TextChoices):
    THERAPY = "therapy", "Therapy room"
    DOSING = "dosing", "Dosing suite"
    OVERNIGHT = "overnight", "Overnight room"
    ASSESSMENT = "assessment", "Assessment room"


class Room(BaseModel):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=RoomKind.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="room_name_unique_at_site")]

    def __str__(self) -> str:
        return self.name


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    CANCELLED = "cancelled", "Cancelled"


class Appointment(BaseModel):
    """A visit booked at a time, in a room (none for a phone check-in), with its staff."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="appointments")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="appointments")
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cancel_reason = models.TextField(blank=True)
    outside_window_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["site", "starts_at"]), models.Index(fields=["room", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.visit} at {self.starts_at:%Y-%m-%d %H:%M}"


class AppointmentStaff(models.Model):
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="staff")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments")
    role = models.CharField(max_length=20)
    is_lead = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["appointment", "user"], name="appointment_staff_once")]

    def __str__(self) -> str:
        return f"{self.user} at {self.appointment}"


class CalendarFeedToken(BaseModel):
    """A secret URL for one staff member's iCalendar feed; revocable. Only a hash is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="calendar_tokens"
    )
    secret_hash = models.CharField(max_length=64, unique=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"calendar feed of {self.user}"
