"""Loaded protocol versions. The file's text is kept verbatim beside its parsed content."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from haven.core.models import BaseModel


class ProtocolVersion(BaseModel):
    """One version of one protocol, as loaded from its file.

    Frozen once a patient is enrolled on it: from then on its content never changes, and an
    amendment is a new version that patients move to only by an explicit, audited re-consent.
    """

    code = models.CharField(max_length=40)
    version = models.CharField(max_length=20)
    title = models.CharField(max_length=200)
    content = models.JSONField(help_text="The validated protocol, as JSON.")
    source_text = models.TextField(help_text="The file as loaded (YAML).")
    source_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    frozen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code", "created_at"]
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="protocol_version_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.version}"

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None
