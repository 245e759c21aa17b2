from __future__ import annotations

from django import forms

from haven.accounts.models import CredentialKind


class LoginForm(forms.Form):
    username = forms.CharField(
        label="Username or e-mail",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class OtpForm(forms.Form):
    otp_code = forms.CharField(
        label="Authenticator code",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]*",
                "autofocus": True,
            }
        ),
    )


class TokenCreateForm(forms.Form):
    name = forms.CharField(label="What the token is for", max_length=100)


class DeviceTokenCreateForm(forms.Form):
    name = forms.CharField(
        label="Device name",
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Room 2 vital-signs monitor"}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=500, widget=forms.TextInput())


class CredentialForm(forms.Form):
    user_id = forms.UUIDField(widget=forms.HiddenInput())
    kind = forms.ChoiceField(label="Kind", choices=CredentialKind.choices)
    title = forms.CharField(label="Title", max_length=200)
    identifier = forms.CharField(label="Number", max_length=100)
    issuer = forms.CharField(label="Issued by", max_length=200)
    valid_from = forms.DateField(label="Valid from", widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(
        label="Valid until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class SignForm(forms.Form):
    """Re-authentication for an e-signature (21 CFR 11.200): password, and the code where enrolled."""

    password = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    otp_code = forms.CharField(
        label="Authenticator code",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
