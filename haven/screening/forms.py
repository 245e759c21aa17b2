"""Forms of the screening pages. They only parse input; the services decide what is allowed.

Each section of the record has one add form. A section of measurements shows one row per field of
``services.FIELDS`` in that section (value, unit and, for labs, the reference range), so values
taken together, such as the systolic and diastolic of one blood-pressure reading, go in with one
submit. Units and values are plain text here: the service refuses a wrong unit or an impossible
value with a message that names the field's accepted units and range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms

from haven.accounts.forms import SignForm
from haven.screening.drug_classes import drug_classes
from haven.screening.facts import CONDITION_CATEGORIES, CSSRS_LEVELS, PSYCHIATRIC_CODES
from haven.screening.services import FIELDS, FLAGS, RATER_FIELDS

DATE = {"type": "date"}
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"

# UCUM codes as a clinician reads them; the code itself is what is stored and posted.
UNIT_LABELS = {
    "mm[Hg]": "mmHg",
    "/min": "/min",
    "Cel": "°C",
    "[degF]": "°F",
    "ms": "ms",
    "U/L": "U/L",
    "[IU]/L": "IU/L",
    "umol/L": "µmol/L",
    "mg/dL": "mg/dL",
    "mmol/L": "mmol/L",
    "meq/L": "mEq/L",
    "kg": "kg",
    "[lb_av]": "lb",
    "cm": "cm",
    "[in_i]": "in",
    "{score}": "points",
}
PSYCHIATRIC_LABELS = {
    "ptsd": "PTSD",
    "primary_psychotic_disorder": "Primary psychotic disorder",
    "bipolar_i": "Bipolar I disorder",
    "dissociative_identity_disorder": "Dissociative identity disorder",
    "eating_disorder_with_purging": "Eating disorder with purging",
    "substance_use_disorder": "Alcohol or substance use disorder",
    "major_depressive_disorder": "Major depressive disorder",
    "mdd_with_psychotic_features": "Major depression with psychotic features",
    "personality_disorder": "Personality disorder",
    "other": "Other psychiatric condition",
}
FLAG_LABELS = {
    "pregnancy_test_positive": "Pregnancy test positive",
    "lactating": "Lactating (breastfeeding)",
    "ecg_rhythm_abnormal": "ECG rhythm abnormal",
}
CSSRS_LABELS = {"none": "None", "low": "Low", "moderate": "Moderate", "high": "High"}
YES_NO = [("", "Not recorded now"), ("no", "No"), ("yes", "Yes")]


def unit_label(unit: str) -> str:
    return UNIT_LABELS.get(unit, unit)


def psychiatric_label(code: str) -> str:
    return PSYCHIATRIC_LABELS.get(code, code.replace("_", " "))


def drug_class_choices() -> list[tuple[str, str]]:
    """The drug-class table as select options, each with its washout."""
    return [("", "None of these classes")] + [
        (c.code, f"{c.name} (washout {c.washout_days} days)") for c in drug_classes().values()
    ]


class MedicalHistoryForm(forms.Form):
    # Required-ness is left to the service, so the page and the API give the same message.
    condition = forms.CharField(label="Condition", max_length=200, required=False)
    category = forms.ChoiceField(
        label="Category",
        choices=[(c, c.capitalize()) for c in CONDITION_CATEGORIES if c != "psychiatric"],
    )
    onset = forms.DateField(label="Onset", required=False, widget=forms.DateInput(attrs=DATE))
    current = forms.BooleanField(label="Current", required=False, initial=True)


class PsychiatricHistoryForm(forms.Form):
    condition = forms.CharField(label="Condition", max_length=200, required=False)
    # A psychiatric entry without a code would never match a criterion that names diagnoses, so
    # one is asked for; "other" covers the rest.
    code = forms.ChoiceField(
        label="Diagnosis",
        choices=[("", "Choose…")] + [(c, psychiatric_label(c)) for c in PSYCHIATRIC_CODES],
        error_messages={"required": "Choose the diagnosis (or “Other psychiatric condition”)."},
    )
    onset = forms.DateField(label="Onset", required=False, widget=forms.DateInput(attrs=DATE))
    current = forms.BooleanField(label="Current", required=False, initial=True)


class PsychedelicUseForm(forms.Form):
    substance = forms.CharField(label="Substance", max_length=100, required=False)
    lifetime_count = forms.IntegerField(label="Times used (lifetime)", min_value=0)
    last_use = forms.DateField(label="Last use", required=False, widget=forms.DateInput(attrs=DATE))
    clinical = forms.BooleanField(
        label="Within supervised clinical care (a trial or licensed treatment)", required=False
    )


class MedicationForm(forms.Form):
    name = forms.CharField(label="Medication", max_length=200, required=False)
    # A free value shown as a select: the service refuses a code that is not in the table.
    drug_class = forms.CharField(label="Drug class", required=False, widget=forms.Select())
    dose = forms.CharField(label="Dose", max_length=100, required=False)
    start = forms.DateField(label="Started", required=False, widget=forms.DateInput(attrs=DATE))
    stop = forms.DateField(
        label="Stopped",
        required=False,
        widget=forms.DateInput(attrs=DATE),
        help_text="Blank: still taking it.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["drug_class"].widget.choices = drug_class_choices()


@dataclass(frozen=True)
class MeasureRow:
    """One field of a measurement section as the template lays it out."""

    field: str
    label: str
    value: forms.BoundField
    unit: forms.BoundField
    unit_text: str  # shown beside the value when the field has one unit only
    low: forms.BoundField | None
    high: forms.BoundField | None

    @property
    def errors(self) -> list[str]:
        found = [*self.value.errors, *self.unit.errors]
        for bound in (self.low, self.high):
            if bound is not None:
                found.extend(bound.errors)
        return found


@dataclass(frozen=True)
class Measured:
    field: str
    value: str
    unit: str
    reference_low: Decimal | None
    reference_high: Decimal | None


class MeasurementsForm(forms.Form):
    """Values of one section: ``<field>``, ``<field>_unit`` (and ``<field>_low``/``_high`` for labs),
    the yes/no findings of the section, the C-SSRS risk for the instruments, and when measured."""

    def __init__(
        self,
        *args: Any,
        section: str,
        rater_only: bool = False,
        measured_at: datetime | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.section = section
        self.measure_fields = [
            f
            for f, spec in FIELDS.items()
            if spec.section == section and (not rater_only or f in RATER_FIELDS)
        ]
        self.flag_names = [] if rater_only else [f for f, s in FLAGS.items() if s == section]
        self.with_cssrs = section == "instruments" and not rater_only
        self.with_reference = section == "labs"
        for name in self.measure_fields:
            spec = FIELDS[name]
            self.fields[name] = forms.CharField(
                label=spec.label,
                required=False,
                max_length=20,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            )
            unit_widget: forms.Widget = (
                forms.Select(
                    choices=[(u, unit_label(u)) for u in spec.units],
                    attrs={"aria-label": f"Unit of {spec.label}"},
                )
                if len(spec.units) > 1
                else forms.HiddenInput()
            )
            self.fields[f"{name}_unit"] = forms.CharField(
                label=f"Unit of {spec.label}", required=False, initial=spec.units[0], widget=unit_widget
            )
            if self.with_reference:
                for end in ("low", "high"):
                    self.fields[f"{name}_{end}"] = forms.DecimalField(
                        label=f"{spec.label} reference {end}",
                        required=False,
                        max_digits=10,
                        decimal_places=3,
                        widget=forms.TextInput(
                            attrs={
                                "inputmode": "decimal",
                                "aria-label": f"{spec.label} reference range, {end}",
                            }
                        ),
                    )
        if self.measure_fields:
            self.fields["measured_at"] = forms.DateTimeField(
                label="Administered at" if section == "instruments" else "Measured at",
                initial=measured_at,
                widget=forms.DateTimeInput(format=DATETIME_FORMAT, attrs={"type": "datetime-local"}),
            )
        for name in self.flag_names:
            self.fields[name] = forms.ChoiceField(
                label=FLAG_LABELS.get(name, name), required=False, choices=YES_NO
            )
        if self.with_cssrs:
            self.fields["cssrs_risk"] = forms.ChoiceField(
                label="C-SSRS screener risk",
                required=False,
                choices=[("", "Not recorded now")] + [(c, CSSRS_LABELS[c]) for c in CSSRS_LEVELS],
            )

    def rows(self) -> list[MeasureRow]:
        rows = []
        for name in self.measure_fields:
            units = FIELDS[name].units
            rows.append(
                MeasureRow(
                    field=name,
                    label=FIELDS[name].label,
                    value=self[name],
                    unit=self[f"{name}_unit"],
                    unit_text=unit_label(units[0]) if len(units) == 1 else "",
                    low=self[f"{name}_low"] if self.with_reference else None,
                    high=self[f"{name}_high"] if self.with_reference else None,
                )
            )
        return rows

    def flag_fields(self) -> list[forms.BoundField]:
        fields = [self[name] for name in self.flag_names]
        if self.with_cssrs:
            fields.append(self["cssrs_risk"])
        return fields

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        entered = False
        for name in self.measure_fields:
            value = (data.get(name) or "").strip()
            data[name] = value
            entered = entered or bool(value)
            reference = [data.get(f"{name}_{end}") for end in ("low", "high")] if self.with_reference else []
            if not value and any(r is not None for r in reference):
                self.add_error(name, "Enter the value that goes with this reference range.")
        entered = entered or any(data.get(name) for name in self.flag_names)
        entered = entered or bool(data.get("cssrs_risk"))
        if not entered:
            raise forms.ValidationError("Enter at least one value.")
        return data

    def measured(self) -> list[Measured]:
        data = self.cleaned_data
        return [
            Measured(
                field=name,
                value=data[name],
                unit=data.get(f"{name}_unit") or "",
                reference_low=data.get(f"{name}_low"),
                reference_high=data.get(f"{name}_high"),
            )
            for name in self.measure_fields
            if data.get(name)
        ]

    def flags(self) -> list[tuple[str, bool]]:
        return [
            (name, self.cleaned_data[name] == "yes")
            for name in self.flag_names
            if self.cleaned_data.get(name)
        ]


class SectionCompleteForm(forms.Form):
    complete = forms.BooleanField(label="Section complete", required=False)


class EntryErrorForm(forms.Form):
    # The service requires the reason and says so next to this field.
    reason = forms.CharField(label="Why it is wrong", max_length=500, required=False)


class OverrideForm(SignForm):
    criterion_code = forms.CharField(widget=forms.HiddenInput())
    reason = forms.CharField(
        label="Reason for the override", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    field_order = ("criterion_code", "reason", "password", "otp_code")


def section_forms() -> dict[str, type[forms.Form]]:
    """The add form of each section whose entries are not measurements."""
    return {
        "medical_history": MedicalHistoryForm,
        "psychiatric_history": PsychiatricHistoryForm,
        "psychedelic_use": PsychedelicUseForm,
        "medications": MedicationForm,
    }
