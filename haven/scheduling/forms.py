"""Forms of the scheduling pages. They only parse input; the services decide what is allowed.

Fields are named like the services' arguments where they can be (``room``, ``staff``,
``outside_window_reason``, ``name``, ``kind``, ``reason``), so a ``DomainError`` naming a field
lands next to it. The booking form asks for a local date, start and length rather than two
instants; ``BOOKING_FIELDS`` maps the service's ``starts_at``/``ends_at`` onto them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from haven.accounts.models import Role, User
from haven.scheduling.models import RoomKind

DATE = {"type": "date"}
Choices = Sequence[tuple[str, str]]
# Far-off years would overflow date arithmetic (a week, a length); no clinic plans that far.
EARLIEST, LATEST = date(1900, 1, 1), date(9000, 12, 31)
# Where an error the booking service names lands on the booking form.
BOOKING_FIELDS = {"starts_at": "start", "ends_at": "minutes", "room": "room", "staff": "staff"}


@dataclass(frozen=True)
class StaffOption:
    """One person in one role, as the booking form offers them: ``key`` is ``<user id>:<role>``."""

    key: str
    user: User
    role: Role


class AppointmentBookForm(forms.Form):
    date = forms.DateField(
        label="Date",
        widget=forms.DateInput(attrs=DATE),
        validators=[MinValueValidator(EARLIEST), MaxValueValidator(LATEST)],
    )
    start = forms.TimeField(label="Start", widget=forms.TimeInput(attrs={"type": "time"}))
    minutes = forms.IntegerField(label="Length (minutes)", min_value=1, max_value=24 * 60)
    room = forms.ChoiceField(label="Room", required=False)
    staff = forms.MultipleChoiceField(label="Staff", required=False)
    lead = forms.ChoiceField(label="Lead", required=False)
    outside_window_reason = forms.CharField(
        label="Reason, if outside the visit's window",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self,
        *args: Any,
        rooms: Choices = (),
        options: Sequence[StaffOption] = (),
        time_zone: str = "UTC",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.options: Mapping[str, StaffOption] = {o.key: o for o in options}
        self.time_zone = time_zone
        keys = [(o.key, o.key) for o in options]
        cast(forms.ChoiceField, self.fields["room"]).choices = [("", "No room (phone check-in)"), *rooms]
        cast(forms.MultipleChoiceField, self.fields["staff"]).choices = keys
        cast(forms.ChoiceField, self.fields["lead"]).choices = [("", "No lead"), *keys]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date") and data.get("start") and data.get("minutes"):
            starts_at = datetime.combine(data["date"], data["start"], tzinfo=ZoneInfo(self.time_zone))
            data["starts_at"] = starts_at
            data["ends_at"] = starts_at + timedelta(minutes=data["minutes"])
        picked = data.get("staff") or []
        if len({self.options[k].user.pk for k in picked}) < len(picked):
            self.add_error("staff", "Pick each person once, in one role.")
        lead = data.get("lead") or ""
        if lead and lead not in picked:
            self.add_error("lead", "The lead must be one of the staff ticked.")
        return data

    def staff_picks(self) -> list[tuple[User, Role, bool]]:
        """(person, role, is lead) for each ticked option; only after ``is_valid()``."""
        lead = self.cleaned_data.get("lead") or ""
        return [
            (self.options[key].user, self.options[key].role, key == lead)
            for key in self.cleaned_data.get("staff") or []
        ]


class CalendarFilterForm(forms.Form):
    view = forms.ChoiceField(label="View", required=False, choices=[("day", "Day"), ("week", "Week")])
    date = forms.DateField(
        label="Date",
        required=False,
        widget=forms.DateInput(attrs=DATE),
        validators=[MinValueValidator(EARLIEST), MaxValueValidator(LATEST)],
    )
    room = forms.ChoiceField(label="Room", required=False)
    person = forms.ChoiceField(label="Person", required=False)

    def __init__(self, *args: Any, rooms: Choices = (), people: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["room"]).choices = [("", "All rooms"), *rooms]
        cast(forms.ChoiceField, self.fields["person"]).choices = [("", "Everyone"), *people]


class RoomCreateForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    kind = forms.ChoiceField(label="Kind", choices=[("", "Choose…"), *RoomKind.choices])


class AppointmentCancelForm(forms.Form):
    # Not required here: the service is the one place that decides a reason is needed.
    reason = forms.CharField(label="Reason for cancelling", required=False, max_length=2000)
