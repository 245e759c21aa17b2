"""Forms of the pharmacist's page. They only parse input; the services decide what is allowed."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms

Choices = Sequence[tuple[str, str]]
DATE = {"type": "date"}
NUMBER = {"inputmode": "decimal", "autocomplete": "off"}


class _Choosing(forms.Form):
    lot = forms.ChoiceField(label="Lot")
    location = forms.ChoiceField(label="Location")

    def __init__(self, *args: object, lots: Choices, locations: Choices, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["lot"].choices = [("", "Choose…"), *lots]  # type: ignore[attr-defined]
        self.fields["location"].choices = [("", "Choose…"), *locations]  # type: ignore[attr-defined]


class ReceiptForm(_Choosing):
    containers = forms.IntegerField(label="Containers", min_value=0)
    loose_units = forms.IntegerField(label="Loose units", min_value=0, initial=0, required=False)
    supplier_name = forms.CharField(label="Supplier", max_length=200)
    supplier_address = forms.CharField(label="Supplier's address", max_length=300)
    supplier_registration = forms.CharField(label="Supplier's DEA registration", max_length=20)
    order_form_number = forms.CharField(label="Order form (222 / CSOS) number", max_length=40)
    received_on = forms.DateField(label="Received on", widget=forms.DateInput(attrs=DATE))


class DispenseForm(_Choosing):
    quantity = forms.DecimalField(
        label="Units", max_digits=12, decimal_places=3, widget=forms.TextInput(attrs=NUMBER)
    )
    session = forms.ChoiceField(label="Dosing session")

    def __init__(self, *args: object, sessions: Choices, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["session"].choices = [("", "Choose…"), *sessions]  # type: ignore[attr-defined]


class CountForm(_Choosing):
    counted = forms.DecimalField(
        label="Counted (units)", max_digits=12, decimal_places=3, widget=forms.TextInput(attrs=NUMBER)
    )
    inventory = forms.ChoiceField(
        label="Inventory",
        choices=[
            ("ad_hoc", "Ad hoc"),
            ("initial", "Initial"),
            ("biennial", "Biennial"),
            ("newly_scheduled", "Newly scheduled"),
        ],
    )
    at_opening = forms.TypedChoiceField(
        label="Taken at",
        choices=[("1", "Opening of business"), ("0", "Close of business")],
        coerce=lambda v: v == "1",
    )
    witness = forms.ChoiceField(label="Witness (signs now)")
    witness_password = forms.CharField(
        label="Witness's password", widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )
    witness_otp_code = forms.CharField(
        label="Witness's code", required=False, max_length=8, widget=forms.TextInput(attrs=NUMBER)
    )

    def __init__(self, *args: object, witnesses: Choices, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["witness"].choices = [("", "Choose…"), *witnesses]  # type: ignore[attr-defined]


class LossClockForm(forms.Form):
    notice_sent_at = forms.DateTimeField(
        label="Field office notified at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    form106_filed_at = forms.DateTimeField(
        label="Form 106 filed at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    form106_number = forms.CharField(label="Form 106 confirmation", required=False, max_length=60)
