"""Forms of the outcome pages (the instruments' own forms are rendered from their definitions)."""

from __future__ import annotations

from django import forms

from haven.outcomes.models import SafetyAction, SecondFactor


class PortalLinkForm(forms.Form):
    channel = forms.ChoiceField(
        label="Send by",
        choices=[("email", "E-mail"), ("sms", "Text message"), ("console", "Show in the server log (demo)")],
    )
    second_factor = forms.ChoiceField(label="Second factor", choices=SecondFactor.choices, initial="dob")
    pin = forms.CharField(
        label="PIN (if chosen)",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    days = forms.IntegerField(label="Valid for (days)", min_value=1, max_value=90, initial=14)


class RevokeForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=500)


class SafetyAckForm(forms.Form):
    action = forms.ChoiceField(label="Action taken", choices=SafetyAction.choices)
    note = forms.CharField(label="Note", required=False, max_length=2000)


class SafetyResolveForm(forms.Form):
    note = forms.CharField(label="How it was resolved", max_length=2000)


class ErrorForm(forms.Form):
    reason = forms.CharField(label="Why it was entered in error", max_length=500)


class SecondFactorForm(forms.Form):
    value = forms.CharField(label="Your answer", max_length=40)


class FormRequestForm(forms.Form):
    instrument = forms.ChoiceField(label="Form")
    due_on = forms.DateField(label="Due on", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label="Note", required=False, max_length=300)

    def __init__(self, *args: object, instruments: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["instrument"].choices = [("", "Choose…"), *instruments]  # type: ignore[attr-defined]
