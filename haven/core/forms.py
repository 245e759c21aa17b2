"""Glue between the error tree and Django forms."""

from __future__ import annotations

from django import forms

from haven.core.errors import DomainError


def attach_error(form: forms.Form, error: DomainError) -> None:
    """Show ``error`` on ``form``: per field where the field exists, otherwise at the top."""
    placed = False
    for field, messages in error.fields.items():
        if field in form.fields:
            for message in messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)
