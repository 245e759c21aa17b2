"""The base every Haven model stands on."""

from __future__ import annotations

import uuid

from django.db import models


class BaseModel(models.Model):
    """A row with a public id for URLs and APIs, and creation/update times (UTC).

    The integer primary key never leaves the server: URLs, API payloads and audit entries name rows
    by ``public_id`` so ids cannot be enumerated or guessed across sites.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @classmethod
    def record_type(cls) -> str:
        """The name the audit trail and signatures use for this kind of row, e.g. ``accounts.site``."""
        return cls._meta.label_lower
