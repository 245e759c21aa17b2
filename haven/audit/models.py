"""The append-only, hash-chained audit trail and electronic signatures.

Nothing in Haven updates or deletes an ``AuditEntry``: the only write is an insert through
``haven.audit.services.audit_record``, and the database refuses UPDATE and DELETE with a trigger
(migration 0002). Each entry stores the hash of the entry before it, so an edit made behind the
application's back breaks the chain, and ``haven audit verify`` names the first broken entry.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    CREATE = "create", "created"
    UPDATE = "update", "updated"
    DELETE = "delete", "deleted"
    SIGN = "sign", "signed"
    LOGIN = "login", "logged in"
    LOGIN_FAILED = "login_failed", "failed login"
    LOGOUT = "logout", "logged out"
    LOCKOUT = "lockout", "locked out"
    EXPORT = "export", "exported"
    VIEW = "view", "viewed identifying data"


class AuditEntry(models.Model):
    seq = models.PositiveBigIntegerField(unique=True, help_text="Position in the chain, from 1, no gaps.")
    occurred_at = models.DateTimeField(help_text="Server time, UTC.")
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=200, help_text="Printed name at the time of the action.")
    actor_roles = models.CharField(max_length=300, blank=True)
    token_id = models.UUIDField(null=True, blank=True, help_text="Public id of the API token used, if any.")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    site_id = models.UUIDField(null=True, blank=True, db_index=True, help_text="Public id of the site.")
    record_type = models.CharField(max_length=100)
    record_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict, help_text="field → {old, new}")
    reason = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["record_type", "record_id"]),
            models.Index(fields=["actor_user", "occurred_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_seq_positive"),
            models.CheckConstraint(
                condition=~models.Q(action__in=["update", "delete"]) | ~models.Q(reason=""),
                name="audit_change_needs_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.record_type}:{self.record_id}"


class AuditChainHead(models.Model):
    """One row: the last entry of the chain.

    Writers lock it (``SELECT … FOR UPDATE``) before appending, which serialises appends on
    PostgreSQL so two concurrent requests can never both extend the same entry (a fork). On SQLite
    the IMMEDIATE transaction already serialises writers. ``verify`` also checks the head against
    the last entry, so deleting the newest entries is detected too.
    """

    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"audit chain head at #{self.last_seq}"


class SignatureMeaning(models.TextChoices):
    AUTHORED = "authored", "Authored"
    REVIEWED = "reviewed", "Reviewed"
    APPROVED = "approved", "Approved"
    WITNESSED = "witnessed", "Witnessed"


class Signature(models.Model):
    """An electronic signature (21 CFR 11.50): who, when, and what the signature means.

    ``content_hash`` binds the signature to the record's type, id and signed content, so it can
    neither be moved to another record nor survive a change of the record unnoticed.
    """

    # Not a BaseModel: a signature is never updated, and its ``record_type`` is a column here.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures")
    printed_name = models.CharField(max_length=200)
    signer_roles = models.CharField(max_length=300, blank=True)
    meaning = models.CharField(max_length=20, choices=SignatureMeaning.choices)
    signed_at = models.DateTimeField()
    record_type = models.CharField(max_length=100)
    record_id = models.CharField(max_length=64)
    site_id = models.UUIDField(null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    audit_entry = models.OneToOneField(AuditEntry, on_delete=models.PROTECT, related_name="signature")

    class Meta:
        ordering = ["signed_at"]
        indexes = [models.Index(fields=["record_type", "record_id"])]

    def __str__(self) -> str:
        return f"{self.printed_name} ({self.meaning}) {self.record_type}:{self.record_id}"
