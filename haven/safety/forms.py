"""Forms of the safety pages. They only parse input; the services decide what is allowed.

Field names follow the services' arguments, so an error naming a field lands next to it.
"""

from __future__ import annotations

from typing import Any

from django import forms

from haven.accounts.forms import SignForm
from haven.safety.aesi import CATEGORIES
from haven.safety.models import (
    AE_DEFINITION,
    SERIOUSNESS_CRITERIA,
    ActionTaken,
    AeOutcome,
    Capacity,
    Relatedness,
    ReportKind,
    Severity,
)
from haven.safety.solicited import EFFECTS, TIME_POINTS

LOCAL_TIME = {"type": "datetime-local"}
# What a datetime-local input accepts as its value (entered and shown in the site's time zone).
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
BLANK = [("", "—")]
EXPECTED = [("", "Not yet assessed"), ("yes", "Expected"), ("no", "Unexpected")]


def _expected(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class AeForm(forms.Form):
    verbatim_term = forms.CharField(label="Event (verbatim term)", max_length=300, help_text=AE_DEFINITION)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    onset_at = forms.DateTimeField(
        label="Onset", widget=forms.DateTimeInput(attrs=LOCAL_TIME, format=LOCAL_FORMAT)
    )
    resolved_at = forms.DateTimeField(
        label="Resolved", required=False, widget=forms.DateTimeInput(attrs=LOCAL_TIME, format=LOCAL_FORMAT)
    )
    severity = forms.ChoiceField(label="Severity", required=False, choices=BLANK + list(Severity.choices))
    ctcae_grade = forms.TypedChoiceField(
        label="CTCAE grade (when the protocol uses it)",
        required=False,
        coerce=int,
        empty_value=None,
        choices=BLANK + [(str(n), str(n)) for n in range(1, 6)],
    )
    death = forms.BooleanField(label=SERIOUSNESS_CRITERIA[0][1], required=False)
    life_threatening = forms.BooleanField(label=SERIOUSNESS_CRITERIA[1][1], required=False)
    hospitalisation = forms.BooleanField(label=SERIOUSNESS_CRITERIA[2][1], required=False)
    disability = forms.BooleanField(label=SERIOUSNESS_CRITERIA[3][1], required=False)
    congenital_anomaly = forms.BooleanField(label=SERIOUSNESS_CRITERIA[4][1], required=False)
    other_important = forms.BooleanField(label=SERIOUSNESS_CRITERIA[5][1], required=False)
    awareness_at = forms.DateTimeField(
        label="Site aware since (serious events)",
        required=False,
        widget=forms.DateTimeInput(attrs=LOCAL_TIME, format=LOCAL_FORMAT),
    )
    death_date = forms.DateField(
        label="Date of death", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    relatedness = forms.ChoiceField(
        label="Relatedness to the study drug", required=False, choices=BLANK + list(Relatedness.choices)
    )
    expected = forms.ChoiceField(label="Expectedness", required=False, choices=EXPECTED)
    action_taken = forms.ChoiceField(
        label="Action taken with the study drug", required=False, choices=BLANK + list(ActionTaken.choices)
    )
    outcome = forms.ChoiceField(label="Outcome", required=False, choices=BLANK + list(AeOutcome.choices))
    aesi_manual = forms.MultipleChoiceField(
        label="Special interest (chosen by hand; terms are also matched automatically)",
        required=False,
        choices=[(c.code, c.label) for c in CATEGORIES],
        widget=forms.CheckboxSelectMultiple,
    )

    def criteria_fields(self) -> list[forms.BoundField]:
        return [self[name] for name, _ in SERIOUSNESS_CRITERIA]

    def data_kwargs(self) -> dict[str, Any]:
        values = dict(self.cleaned_data)
        values.pop("reason", None)
        values.pop("confirm", None)
        values["expected"] = _expected(values["expected"])
        values["aesi_manual"] = list(values["aesi_manual"])
        return values


class AeEditForm(AeForm):
    reason = forms.CharField(label="Reason for the change", max_length=500, required=False)
    confirm = forms.BooleanField(label="Reviewed: record this draft as an adverse event", required=False)


class ErrorForm(forms.Form):
    reason = forms.CharField(label="Why was it entered in error?", max_length=500, required=False)


class CodeForm(forms.Form):
    llt_code = forms.CharField(label="LLT code", required=False, max_length=12)
    llt_name = forms.CharField(label="LLT name", required=False, max_length=200)
    pt_code = forms.CharField(label="PT code", required=False, max_length=12)
    pt_name = forms.CharField(label="Preferred term", required=False, max_length=200)
    soc_code = forms.CharField(label="SOC code", required=False, max_length=12)
    soc_name = forms.CharField(label="System organ class", required=False, max_length=200)


class ReportForm(forms.Form):
    kind = forms.ChoiceField(label="Report", choices=ReportKind.choices)
    narrative = forms.CharField(label="Narrative", required=False, widget=forms.Textarea(attrs={"rows": 5}))


class AssessForm(SignForm):
    capacity = forms.ChoiceField(label="Assessing as", choices=Capacity.choices)
    relatedness = forms.ChoiceField(label="Causality", choices=Relatedness.choices)
    expected = forms.ChoiceField(label="Expectedness", required=False, choices=EXPECTED)
    comment = forms.CharField(label="Comment", required=False, max_length=2000)
    field_order = ["capacity", "relatedness", "expected", "comment", "password", "otp_code"]

    def expected_value(self) -> bool | None:
        return _expected(self.cleaned_data["expected"])


class SolicitedForm(forms.Form):
    time_point = forms.ChoiceField(label="Time point", choices=TIME_POINTS)
    none_reported = forms.BooleanField(label="None of these effects", required=False)

    def __init__(self, *args: Any, time_points: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if time_points:
            labels = dict(TIME_POINTS)
            field = self.fields["time_point"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [(code, labels.get(code, code)) for code in time_points]
        for code, label in EFFECTS:
            self.fields[f"effect_{code}"] = forms.BooleanField(label=label, required=False)

    def answers(self) -> dict[str, bool]:
        if self.cleaned_data["none_reported"]:
            return {}
        return {code: bool(self.cleaned_data[f"effect_{code}"]) for code, _ in EFFECTS}

    def effect_fields(self) -> list[forms.BoundField]:
        return [self[f"effect_{code}"] for code, _ in EFFECTS]
