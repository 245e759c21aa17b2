"""Sites, staff users, their roles per site, API tokens and professional credentials."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower

from haven.core.models import BaseModel


class Site(BaseModel):
    """A clinic or trial site. Every clinical row belongs to exactly one site."""

    name = models.CharField(max_length=200, unique=True)
    code = models.CharField(
        max_length=8,
        unique=True,
        help_text="Short upper-case prefix of the site's study IDs, e.g. ALD in ALD-0001.",
    )
    time_zone = models.CharField(max_length=64, help_text="IANA name, e.g. America/Chicago.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[A-Z][A-Z0-9]{1,7}$"), name="site_code_format"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    THERAPIST = "therapist", "Therapist"
    PHYSICIAN = "physician", "Physician / medical monitor"
    COORDINATOR = "coordinator", "Coordinator"
    PHARMACIST = "pharmacist", "Pharmacist / custodian"
    BLINDED_RATER = "blinded_rater", "Blinded rater"
    DATA_MANAGER = "data_manager", "Data manager / statistician"
    SPONSOR_MONITOR = "sponsor_monitor", "Sponsor monitor"
    AUDITOR = "auditor", "Auditor"
    SITE_ADMIN = "site_admin", "Site administrator"


# Roles whose holders put their name to clinical records (doses, witnessing, ratings, reviews,
# locks, consent). Holding any of them makes a second factor mandatory. Monitors and auditors
# read and review but never sign in Haven.
SIGNING_ROLES = frozenset(Role) - {Role.SPONSOR_MONITOR, Role.AUDITOR}
# Roles that may read a site's audit trail.
AUDIT_READER_ROLES = frozenset({Role.AUDITOR, Role.SITE_ADMIN, Role.DATA_MANAGER, Role.SPONSOR_MONITOR})


class User(AbstractUser):
    """A member of staff. Patients never hold accounts; they reach the portal by a scoped link."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    printed_name = models.CharField(
        max_length=200, help_text="Full name as it appears on signatures, e.g. 'Dr Alice Adams'."
    )
    failed_login_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    # Bumped by "log out everywhere": every session remembers the generation it started in.
    session_generation = models.PositiveIntegerField(default=0)
    is_demo = models.BooleanField(default=False, help_text="Created by `haven demo`; refused in production.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"), name="user_email_unique_ci", condition=~models.Q(email="")
            ),
        ]

    def __str__(self) -> str:
        return self.printed_name or self.username


class SiteMembership(BaseModel):
    """One role a user holds at one site. A user may hold several roles at a site."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "site", "role"], name="membership_unique_role"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_known"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.site}"


class TokenKind(models.TextChoices):
    USER = "user", "User token"
    DEVICE = "device", "Device token"


class ApiToken(BaseModel):
    """A bearer token for the API. Only a SHA-256 of the secret is kept; the secret is shown once.

    A user token acts as its user with that user's roles. A device token is bound to one site and
    carries no user: it can reach only endpoints that explicitly accept devices.
    """

    kind = models.CharField(max_length=10, choices=TokenKind.choices)
    name = models.CharField(max_length=100)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="api_tokens")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="api_tokens")
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise a token.")
    secret_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="user", user__isnull=False, site__isnull=True)
                    | models.Q(kind="device", user__isnull=True, site__isnull=False)
                ),
                name="token_scope_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class CredentialKind(models.TextChoices):
    LICENCE = "licence", "Professional licence"
    REGISTRATION = "registration", "Controlled-substance registration"
    CERTIFICATION = "certification", "Certification"
    TRAINING = "training", "Protocol training"


class StaffCredential(BaseModel):
    """A licence, registration or training a member of staff holds at a site, with its validity.

    A site administrator reviews it with an e-signature; a later change to the credential shows that
    signature as invalidated until it is reviewed again. Dosing (a later capability) checks that
    the therapists present hold a valid, reviewed licence.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="credentials")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="credentials")
    kind = models.CharField(max_length=20, choices=CredentialKind.choices)
    title = models.CharField(max_length=200, help_text="e.g. 'Licensed clinical psychologist'.")
    identifier = models.CharField(max_length=100, help_text="Licence or registration number.")
    issuer = models.CharField(max_length=200, help_text="e.g. 'State Board of Psychology'.")
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["user__printed_name", "kind"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="credential_valid_until_after_from",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=CredentialKind.values), name="credential_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.identifier}"

    # Signable ----------------------------------------------------------------------------------
    def signed_content(self) -> dict[str, Any]:
        return {
            "user": str(self.user.public_id),
            "site": str(self.site.public_id),
            "kind": self.kind,
            "title": self.title,
            "identifier": self.identifier,
            "issuer": self.issuer,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
        }

    def signing_site_id(self) -> uuid.UUID:
        return self.site.public_id
