"""Forms of the patient pages. They only parse input; the services decide what is allowed.

Fields are named like the services' arguments, so a ``DomainError`` naming a field lands next to it
(``haven.core.forms.attach_error``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms

from haven.accounts.forms import SignForm
from haven.patients.models import CourseStatus, Sex

DATE = {"type": "date"}
Choices = Sequence[tuple[str, str]]


class PatientSearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
    status = forms.ChoiceField(
        label="Course status", required=False, choices=[("", "Any status"), *CourseStatus.choices]
    )
    overdue = forms.BooleanField(label="Overdue visits only", required=False)


class PatientRegisterForm(forms.Form):
    sex_at_birth = forms.ChoiceField(label="Sex at birth", choices=[("", "Choose…"), *Sex.choices])
    given_name = forms.CharField(label="Given name", max_length=100)
    family_name = forms.CharField(label="Family name", max_length=100)
    date_of_birth = forms.DateField(label="Date of birth", widget=forms.DateInput(attrs=DATE))
    phone = forms.CharField(label="Phone", max_length=40, required=False)
    # A plain text field: the service is the one place that decides what a valid address is.
    email = forms.CharField(label="E-mail", max_length=254, required=False, widget=forms.EmailInput())
    address = forms.CharField(label="Address", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    emergency_contact_name = forms.CharField(label="Emergency contact", max_length=200, required=False)
    emergency_contact_phone = forms.CharField(label="Emergency contact phone", max_length=40, required=False)


class CourseOpenForm(forms.Form):
    protocol = forms.ChoiceField(label="Protocol version")

    def __init__(self, *args: Any, versions: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["protocol"]).choices = list(versions)


class CourseTransitionForm(forms.Form):
    # A free value shown as a select of the moves allowed now: the service, not the form, refuses
    # an illegal move, so the page and the API give the same answer.
    status = forms.CharField(label="Move to", widget=forms.Select())
    reason = forms.CharField(label="Reason", required=False, max_length=1000)

    def __init__(self, *args: Any, moves: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].widget.choices = [("", "Choose…"), *moves]


class CourseEnrollForm(forms.Form):
    enrolled_on = forms.DateField(label="Enrollment date", widget=forms.DateInput(attrs=DATE))


class ConsentForm(SignForm):
    document = forms.UUIDField(widget=forms.HiddenInput())
    patient_printed_name = forms.CharField(label="Patient's printed name", max_length=200, required=False)
    # Drawn by signature.js; checked by the service, which says what is wrong next to the pad.
    patient_signature_svg = forms.CharField(required=False, widget=forms.HiddenInput())

    field_order = ("document", "patient_printed_name", "patient_signature_svg", "password", "otp_code")


class ConsentDocumentUploadForm(forms.Form):
    file = forms.FileField(label="PDF file", widget=forms.ClearableFileInput(attrs={"accept": ".pdf"}))
    protocol_version = forms.ChoiceField(label="Protocol version")
    version_label = forms.CharField(
        label="Version label", max_length=40, help_text="e.g. v3, 2026-02-01 (IRB approved)"
    )
    title = forms.CharField(label="Title", max_length=200)

    def __init__(self, *args: Any, versions: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["protocol_version"]).choices = list(versions)


class VisitOccurrenceForm(forms.Form):
    occurred_on = forms.DateField(label="Date it took place", widget=forms.DateInput(attrs=DATE))


class VisitMissedForm(forms.Form):
    reason = forms.CharField(label="Why it was missed", required=False, max_length=1000)


class VisitNoteForm(forms.Form):
    """One text box per heading of the protocol's note template, then free text and attendance."""

    free_text = forms.CharField(label="Free text", required=False, widget=forms.Textarea(attrs={"rows": 4}))
    attendees = forms.MultipleChoiceField(
        label="Staff present", required=False, widget=forms.CheckboxSelectMultiple()
    )
    duration_minutes = forms.IntegerField(label="Duration (minutes)")

    def __init__(self, *args: Any, headings: Sequence[str] = (), staff: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headings = tuple(headings)
        sections = {
            f"section_{n}": forms.CharField(
                label=heading, required=False, widget=forms.Textarea(attrs={"rows": 3})
            )
            for n, heading in enumerate(self.headings)
        }
        self.fields = sections | dict(self.fields)
        cast(forms.MultipleChoiceField, self.fields["attendees"]).choices = list(staff)

    def sections(self) -> dict[str, str]:
        return {heading: self.cleaned_data[f"section_{n}"] for n, heading in enumerate(self.headings)}

    def section_fields(self) -> list[forms.BoundField]:
        return [self[f"section_{n}"] for n in range(len(self.headings))]

    @staticmethod
    def initial_for(headings: Sequence[str], sections: dict[str, str]) -> dict[str, str]:
        return {f"section_{n}": sections.get(heading, "") for n, heading in enumerate(headings)}


class AddendumForm(SignForm):
    text = forms.CharField(label="Addendum", widget=forms.Textarea(attrs={"rows": 3}), required=False)

    field_order = ("text", "password", "otp_code")
