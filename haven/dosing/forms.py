"""Forms of the session room. They only parse input; the services decide what is allowed.

Field names follow the services' arguments, so an error naming a field lands next to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from django import forms

from haven.accounts.forms import SignForm
from haven.dosing.models import AlertAction, EmergencyEventKind
from haven.protocols.schema import VitalSign

Choices = Sequence[tuple[str, str]]
NUMERIC = {"inputmode": "decimal", "autocomplete": "off"}
LOCAL_TIME = {"type": "datetime-local"}

VITAL_LABELS = {
    VitalSign.SYSTOLIC_BP: ("Systolic", "mmHg"),
    VitalSign.DIASTOLIC_BP: ("Diastolic", "mmHg"),
    VitalSign.HEART_RATE: ("Heart rate", "/min"),
    VitalSign.TEMPERATURE: ("Temperature", ""),
    VitalSign.SPO2: ("SpO₂", "%"),
    VitalSign.RESPIRATORY_RATE: ("Resp. rate", "/min"),
    VitalSign.SUDS: ("SUDS (distress 0–10)", ""),
}


class VitalsForm(forms.Form):
    """One set of vital signs: only the protocol's parameters, any subset of them."""

    temperature_unit = forms.ChoiceField(
        label="Temperature unit", choices=[("Cel", "°C"), ("[degF]", "°F")], initial="Cel", required=False
    )
    observed_at = forms.DateTimeField(
        label="Measured at (leave empty for now)",
        required=False,
        widget=forms.DateTimeInput(attrs=LOCAL_TIME),
    )
    note = forms.CharField(label="Note", required=False, max_length=2000)

    def __init__(self, *args: object, parameters: Sequence[VitalSign], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.parameters = list(parameters)
        for parameter in self.parameters:
            label, unit = VITAL_LABELS[parameter]
            if parameter == VitalSign.SUDS:
                self.fields[parameter.value] = forms.TypedChoiceField(
                    label=label,
                    required=False,
                    choices=[(str(n), str(n)) for n in range(11)],
                    widget=forms.RadioSelect(attrs={"class": "suds"}),
                    coerce=str,
                )
            else:
                self.fields[parameter.value] = forms.DecimalField(
                    label=label,
                    required=False,
                    max_digits=6,
                    decimal_places=2,
                    help_text=unit,
                    widget=forms.TextInput(attrs=NUMERIC),
                )

    def values(self) -> dict[str, tuple[str, str]]:
        """parameter → (value, UCUM unit) for what was filled in."""
        units = {
            VitalSign.SYSTOLIC_BP: "mm[Hg]",
            VitalSign.DIASTOLIC_BP: "mm[Hg]",
            VitalSign.HEART_RATE: "/min",
            VitalSign.TEMPERATURE: self.cleaned_data.get("temperature_unit") or "Cel",
            VitalSign.SPO2: "%",
            VitalSign.RESPIRATORY_RATE: "/min",
            VitalSign.SUDS: "{score}",
        }
        return {
            p.value: (str(self.cleaned_data[p.value]), units[p])
            for p in self.parameters
            if self.cleaned_data.get(p.value) not in (None, "")
        }


class ChecklistForm(forms.Form):
    code = forms.CharField(max_length=40, widget=forms.HiddenInput())
    done = forms.TypedChoiceField(
        choices=[("1", "Confirmed"), ("0", "Not confirmed")],
        coerce=lambda v: v == "1",
        widget=forms.HiddenInput(),
    )
    note = forms.CharField(label="Note", required=False, max_length=2000)


class CheckInForm(forms.Form):
    user_id = forms.ChoiceField(label="Person")
    role = forms.ChoiceField(label="As", choices=[("therapist", "Therapist"), ("physician", "Physician")])
    is_lead = forms.BooleanField(label="Lead therapist", required=False)

    def __init__(self, *args: object, people: Choices, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["user_id"].choices = [("", "Choose…"), *people]  # type: ignore[attr-defined]


class DoseForm(forms.Form):
    kind = forms.ChoiceField(label="Dose", choices=[("initial", "Initial"), ("supplemental", "Supplemental")])
    amount = forms.DecimalField(
        label="Amount", max_digits=10, decimal_places=3, widget=forms.TextInput(attrs=NUMERIC)
    )
    lot = forms.CharField(label="Lot", max_length=60)
    administered_at = forms.DateTimeField(
        label="Given at (leave empty for now)", required=False, widget=forms.DateTimeInput(attrs=LOCAL_TIME)
    )
    witness = forms.ChoiceField(label="Witness (signs now)")
    witness_password = forms.CharField(
        label="Witness's password", widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )
    witness_otp_code = forms.CharField(
        label="Witness's authenticator code",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs=NUMERIC),
    )
    physician = forms.ChoiceField(label="Approving physician (supplemental)", required=False)
    physician_password = forms.CharField(
        label="Physician's password",
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    physician_otp_code = forms.CharField(
        label="Physician's authenticator code",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs=NUMERIC),
    )

    def __init__(self, *args: object, witnesses: Choices, physicians: Choices, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["witness"].choices = [("", "Choose…"), *witnesses]  # type: ignore[attr-defined]
        self.fields["physician"].choices = [("", "None"), *physicians]  # type: ignore[attr-defined]


class AcknowledgeForm(forms.Form):
    action = forms.ChoiceField(label="Action taken", choices=AlertAction.choices)
    note = forms.CharField(label="Note", required=False, max_length=2000)


class ResolveForm(forms.Form):
    note = forms.CharField(label="How it was resolved", max_length=2000)


class SettingForm(forms.Form):
    room = forms.ChoiceField(label="Room", required=False)
    playlist = forms.CharField(label="Music playlist (reference)", required=False, max_length=300)
    eyeshades_offered = forms.NullBooleanField(
        label="Eyeshades offered",
        widget=forms.Select(choices=[("unknown", "Not recorded"), ("true", "Yes"), ("false", "No")]),
    )
    video_recorded = forms.NullBooleanField(
        label="Video-recorded",
        widget=forms.Select(choices=[("unknown", "Not recorded"), ("true", "Yes"), ("false", "No")]),
    )
    recording_reference = forms.CharField(
        label="Recording stored at (reference)", required=False, max_length=300
    )
    recording_retain_until = forms.DateField(
        label="Keep the recording until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label="Reason for a change", required=False, max_length=500)

    def __init__(self, *args: object, rooms: Choices, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["room"].choices = [("", "Not recorded"), *rooms]  # type: ignore[attr-defined]


class EmergencyEventForm(forms.Form):
    kind = forms.ChoiceField(label="What", choices=EmergencyEventKind.choices)
    detail = forms.CharField(label="Detail", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    place = forms.CharField(label="Hospital (for a transfer)", required=False, max_length=200)
    at = forms.DateTimeField(
        label="At (leave empty for now)", required=False, widget=forms.DateTimeInput(attrs=LOCAL_TIME)
    )


class EmergencyCloseForm(SignForm):
    summary = forms.CharField(
        label="Physician's summary", max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )
    field_order = ["summary", "password", "otp_code"]


class AttestForm(SignForm):
    alert_and_oriented = forms.BooleanField(label="Alert and oriented", required=False)
    escort_present = forms.BooleanField(label="Escort present", required=False)
    escort_name = forms.CharField(label="Escort's name", required=False, max_length=200)
    note = forms.CharField(label="Note", required=False, max_length=2000)
    field_order = ["alert_and_oriented", "escort_present", "escort_name", "note", "password", "otp_code"]


class DischargeForm(forms.Form):
    overnight_stay = forms.NullBooleanField(
        label="Stayed overnight",
        required=False,
        widget=forms.Select(choices=[("unknown", "Not recorded"), ("true", "Yes"), ("false", "No")]),
    )


class OnCallForm(forms.Form):
    physician = forms.ChoiceField(label="Physician")
    starts_at = forms.DateTimeField(label="From", widget=forms.DateTimeInput(attrs=LOCAL_TIME))
    ends_at = forms.DateTimeField(label="Until", widget=forms.DateTimeInput(attrs=LOCAL_TIME))

    def __init__(self, *args: object, physicians: Choices, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["physician"].choices = [("", "Choose…"), *physicians]  # type: ignore[attr-defined]


class OnCallCancelForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=500)


class EquipmentForm(forms.Form):
    item = forms.CharField(max_length=100, widget=forms.HiddenInput())
    ok = forms.TypedChoiceField(
        choices=[("1", "Works"), ("0", "Problem")], coerce=lambda v: v == "1", widget=forms.HiddenInput()
    )
    note = forms.CharField(label="Note", required=False, max_length=2000)


class EmergencyPlanForm(forms.Form):
    procedure = forms.CharField(
        label="Emergency procedure", max_length=10000, widget=forms.Textarea(attrs={"rows": 7})
    )
    equipment = forms.CharField(
        label="Equipment to check before each session day (one per line)",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def items(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["equipment"].splitlines() if line.strip()]
