from __future__ import annotations

import uuid
from datetime import date, datetime

from ninja import Schema
from pydantic import Field

from haven.accounts.models import CredentialKind, Role, TokenKind


class SiteRolesOut(Schema):
    id: uuid.UUID
    name: str
    time_zone: str
    roles: list[Role]


class MeOut(Schema):
    id: uuid.UUID
    username: str
    printed_name: str
    email: str
    mfa_enrolled: bool
    mfa_required: bool
    sites: list[SiteRolesOut]


class SiteUpdateIn(Schema):
    name: str = Field(max_length=200)
    time_zone: str = Field(max_length=64, description="IANA time zone, e.g. Europe/Berlin")
    reason: str = Field(description="Why the site is changed (required, kept in the audit trail)")


class StaffOut(Schema):
    user_id: uuid.UUID
    printed_name: str
    role: Role


class SignatureOut(Schema):
    id: uuid.UUID
    printed_name: str
    meaning: str
    signed_at: datetime
    status: str = Field(description="'valid', or 'invalidated' when the record changed after signing")


class CredentialCreateIn(Schema):
    user_id: uuid.UUID
    kind: CredentialKind
    title: str = Field(max_length=200)
    identifier: str = Field(max_length=100)
    issuer: str = Field(max_length=200)
    valid_from: date
    valid_until: date | None = None


class CredentialUpdateIn(Schema):
    title: str = Field(max_length=200)
    identifier: str = Field(max_length=100)
    issuer: str = Field(max_length=200)
    valid_from: date
    valid_until: date | None = None
    reason: str


class CredentialOut(Schema):
    id: uuid.UUID
    site_id: uuid.UUID
    user_id: uuid.UUID
    holder: str
    kind: CredentialKind
    title: str
    identifier: str
    issuer: str
    valid_from: date
    valid_until: date | None
    signatures: list[SignatureOut]


class SignIn(Schema):
    password: str
    otp_code: str = ""


class TokenCreateIn(Schema):
    name: str = Field(max_length=100)
    kind: TokenKind = TokenKind.USER
    site_id: uuid.UUID | None = None
    expires_at: datetime | None = None


class TokenOut(Schema):
    id: uuid.UUID
    kind: TokenKind
    name: str
    prefix: str
    site_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    secret: str = Field(description="The token itself. Shown this once only; Haven keeps a hash.")


class TokenRevokeIn(Schema):
    reason: str = "revoked"
