"""How portal links and reminders reach a patient: e-mail, or a text message through a pluggable sender.

``console`` writes the message to the log (the embedded default, and the demo). In production,
e-mail goes through Django's mailer, and text messages through the class named by
``HAVEN_SMS_SENDER``: any class with ``send(to: str, body: str) -> None``.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

log = logging.getLogger("haven.portal")


class TextSender(Protocol):
    def send(self, to: str, body: str) -> None: ...


class ConsoleSender:
    """Writes the message to the log instead of sending it."""

    def send(self, to: str, body: str) -> None:
        log.warning("portal message to %s:\n%s", to, body)


def send(*, channel: str, to: str, subject: str, body: str) -> None:
    if channel == "email":
        if settings.HAVEN_PORTAL_EMAIL_SENDER == "email":
            send_mail(subject, body, None, [to])
        else:
            ConsoleSender().send(to, f"{subject}\n\n{body}")
        return
    if channel == "sms":
        name = settings.HAVEN_SMS_SENDER
        sender: TextSender = ConsoleSender() if name == "console" else import_string(name)()
        sender.send(to, body)
        return
    ConsoleSender().send(to, body)


def mask(channel: str, address: str) -> str:
    """Enough of an address to recognise it, not enough to read it back from a record."""
    if channel == "email" and "@" in address:
        local, domain = address.split("@", 1)
        return f"{local[:1]}…@{domain}"
    if channel == "sms":
        digits = "".join(c for c in address if c.isdigit())
        return f"…{digits[-3:]}" if digits else "…"
    return address
