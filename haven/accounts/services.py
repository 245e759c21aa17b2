"""Writes for accounts: sites, staff, roles, login and MFA, API tokens, credentials.

Each service validates first (raising a ``DomainError`` that names the field), then changes, then
records the audit entry, inside one transaction.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.accounts.errors import LoginFailed, OtpInvalid, TokenScopeError
from haven.accounts.lockout import lockout_check, login_failure_record
from haven.accounts.models import (
    SIGNING_ROLES,
    ApiToken,
    CredentialKind,
    Role,
    Site,
    SiteMembership,
    StaffCredential,
    TokenKind,
    User,
)
from haven.accounts.selectors import demo_accounts_exist, has_role, user_by_login
from haven.accounts.signing import sign
from haven.audit.context import Actor
from haven.audit.models import AuditAction, Signature, SignatureMeaning
from haven.audit.services import (
    audit_create,
    audit_delete,
    audit_record,
    audit_update,
    diff,
    require_reason,
    snapshot,
)
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from haven.core.time import is_valid_time_zone, now

SITE_FIELDS = ("name", "code", "time_zone", "is_active")
SITE_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,7}$")
USER_FIELDS = ("username", "email", "printed_name", "is_active", "is_demo")
MEMBERSHIP_FIELDS = ("user", "site", "role")
TOKEN_FIELDS = ("kind", "name", "user", "site", "prefix", "expires_at")
CREDENTIAL_FIELDS = ("user", "site", "kind", "title", "identifier", "issuer", "valid_from", "valid_until")
TOKEN_PREFIX = "hvn_"  # noqa: S105 - a public marker, not a secret


def _required_text(field: str, value: str, *, max_length: int) -> str:
    value = (value or "").strip()
    if not value:
        raise field_error(field, "is required")
    if len(value) > max_length:
        raise field_error(field, f"must be at most {max_length} characters")
    return value


# Sites ------------------------------------------------------------------------------------------
def _validated_site(name: str, time_zone: str) -> tuple[str, str]:
    name = _required_text("name", name, max_length=200)
    if not is_valid_time_zone(time_zone):
        raise field_error("time_zone", f"must be an IANA time zone such as Europe/Berlin, got {time_zone!r}")
    return name, time_zone


def _site_code_from(name: str) -> str:
    """A free code from the name's initials (Alder Clinic → AC, then AC2, AC3 …)."""
    letters = "".join(word[0] for word in re.findall(r"[A-Za-z]+", name)).upper()[:6]
    base = letters if len(letters) >= 2 else (re.sub(r"[^A-Z]", "", name.upper()) + "XX")[:3]
    candidate, n = base, 1
    while Site.objects.filter(code=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


def site_create(*, actor: Actor, name: str, time_zone: str, code: str | None = None) -> Site:
    """A new site. ``code`` prefixes its study IDs; without one, it is made from the name's initials."""
    name, time_zone = _validated_site(name, time_zone)
    if Site.objects.filter(name__iexact=name).exists():
        raise field_error("name", "a site with this name already exists", code="conflict")
    if code is not None:
        code = code.strip().upper()
        if not SITE_CODE.match(code):
            raise field_error("code", "must be 2–8 upper-case letters or digits, starting with a letter")
        if Site.objects.filter(code=code).exists():
            raise field_error("code", "another site already uses this code", code="conflict")
    with transaction.atomic():
        site = Site.objects.create(name=name, code=code or _site_code_from(name), time_zone=time_zone)
        audit_create(actor=actor, instance=site, fields=SITE_FIELDS, site_id=site.public_id)
    return site


def site_update(*, actor: Actor, site: Site, name: str, time_zone: str, reason: str) -> Site:
    reason = require_reason(reason)
    name, time_zone = _validated_site(name, time_zone)
    if Site.objects.filter(name__iexact=name).exclude(pk=site.pk).exists():
        raise field_error("name", "a site with this name already exists", code="conflict")
    with transaction.atomic():
        site = Site.objects.select_for_update().get(pk=site.pk)
        before = snapshot(site, SITE_FIELDS)
        site.name, site.time_zone = name, time_zone
        changes = diff(before, snapshot(site, SITE_FIELDS))
        if not changes:
            return site
        site.save(update_fields=["name", "time_zone", "updated_at"])
        audit_update(actor=actor, instance=site, changes=changes, site_id=site.public_id, reason=reason)
    return site


# Staff and roles --------------------------------------------------------------------------------
def user_create(
    *,
    actor: Actor,
    username: str,
    email: str,
    printed_name: str,
    password: str,
    is_demo: bool = False,
) -> User:
    username = _required_text("username", username, max_length=150)
    printed_name = _required_text("printed_name", printed_name, max_length=200)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise field_error("email", "must be a valid e-mail address") from None
    if user_by_login(username) is not None or user_by_login(email) is not None:
        raise field_error("username", "a user with this username or e-mail already exists", code="conflict")
    candidate = User(username=username, email=email, printed_name=printed_name)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            "password: " + " ".join(exc.messages), fields={"password": exc.messages}
        ) from None
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, email=email, password=password, printed_name=printed_name, is_demo=is_demo
        )
        audit_create(actor=actor, instance=user, fields=USER_FIELDS, site_id=None)
    return user


def membership_grant(*, actor: Actor, site: Site, user: User, role: Role | str) -> SiteMembership:
    if role not in Role.values:
        raise field_error("role", f"must be one of {', '.join(Role.values)}")
    if SiteMembership.objects.filter(site=site, user=user, role=role).exists():
        raise field_error("role", f"{user} already holds this role at {site}", code="conflict")
    with transaction.atomic():
        membership = SiteMembership.objects.create(site=site, user=user, role=role)
        audit_create(actor=actor, instance=membership, fields=MEMBERSHIP_FIELDS, site_id=site.public_id)
    return membership


def membership_revoke(*, actor: Actor, membership: SiteMembership, reason: str) -> None:
    reason = require_reason(reason)
    with transaction.atomic():
        audit_delete(
            actor=actor,
            instance=membership,
            fields=MEMBERSHIP_FIELDS,
            site_id=membership.site.public_id,
            reason=reason,
        )
        membership.delete()


def mfa_required(user: User) -> bool:
    """Anyone holding a role that signs must use a second factor; demo accounts only outside production."""
    if user.is_demo and not settings.PRODUCTION:
        return False
    return SiteMembership.objects.filter(user=user, role__in=SIGNING_ROLES).exists()


def mfa_enrolled(user: User) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


# Login, lockout, MFA ----------------------------------------------------------------------------
# Hashing a throwaway password for unknown logins keeps their timing close to a real check.
_DUMMY_HASH: list[str] = []


def login_check_password(*, actor: Actor, login: str, password: str) -> User:
    """First step of login. Returns the user; the caller then asks for a TOTP code if enrolled."""
    user = user_by_login(login)
    if user is None or not user.is_active:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(make_password(secrets.token_hex(8)))
        User(password=_DUMMY_HASH[0]).check_password(password)
        login_failure_record(actor, None, login, "unknown or inactive user")
        raise LoginFailed()
    lockout_check(user)
    if not user.check_password(password):
        login_failure_record(actor, user, login, "wrong password")
        raise LoginFailed()
    return user


def login_check_otp(*, actor: Actor, user: User, otp_code: str) -> None:
    """Second step of login for an enrolled user."""
    lockout_check(user)
    code = (otp_code or "").strip()
    if not (code.isdigit() and any(d.verify_token(code) for d in devices_for_user(user, confirmed=True))):
        login_failure_record(actor, user, user.username, "wrong authenticator code")
        raise OtpInvalid()


def login_succeeded(*, actor: Actor, user: User, method: str) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
        audit_record(
            actor=actor,
            action=AuditAction.LOGIN,
            record_type="accounts.user",
            record_id=user.public_id,
            changes={"method": {"old": None, "new": method}},
        )


def logout_recorded(*, actor: Actor, user: User, why: str) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.LOGOUT,
            record_type="accounts.user",
            record_id=user.public_id,
            changes={"why": {"old": None, "new": why}},
        )


def logout_everywhere(*, actor: Actor, user: User) -> None:
    """End every session of ``user`` (each remembers the generation it started in)."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.session_generation += 1
        user.save(update_fields=["session_generation"])
        logout_recorded(actor=actor, user=user, why="logged out everywhere")


def mfa_enroll_start(*, user: User) -> TOTPDevice:
    """An unconfirmed authenticator; it counts only once a code from it is confirmed."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def mfa_enroll_confirm(*, actor: Actor, user: User, device: TOTPDevice, otp_code: str) -> None:
    code = (otp_code or "").strip()
    if device.user_id != user.pk or device.confirmed:
        raise field_error("otp_code", "no authenticator is waiting for confirmation; start again")
    if not (code.isdigit() and device.verify_token(code)):
        raise OtpInvalid()
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            record_type="otp_totp.totpdevice",
            record_id=str(device.pk),
            changes={"confirmed": {"old": None, "new": True}, "user": {"old": None, "new": user.public_id}},
        )


# API tokens -------------------------------------------------------------------------------------
def _secret_hash(secret: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 suffices (no salt or stretching needed).
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def token_create(
    *,
    actor: Actor,
    kind: TokenKind | str,
    name: str,
    site: Site | None = None,
    expires_at: datetime | None = None,
) -> IssuedToken:
    user = actor.user
    if user is None:
        raise PermissionDenied("Only a person can create API tokens.")
    name = _required_text("name", name, max_length=100)
    if kind not in TokenKind.values:
        raise field_error("kind", "must be 'user' or 'device'")
    if expires_at is not None and expires_at <= now():
        raise field_error("expires_at", "must be in the future")
    if kind == TokenKind.DEVICE:
        if site is None:
            raise field_error("site", "a device token must name its site")
        if not has_role(user, site, Role.SITE_ADMIN):
            raise PermissionDenied("Only a site administrator can create device tokens for the site.")
    elif site is not None:
        raise field_error("site", "a user token acts with the user's own sites; leave site empty")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            kind=kind,
            name=name,
            user=user if kind == TokenKind.USER else None,
            site=site,
            prefix=secret[:12],
            secret_hash=_secret_hash(secret),
            created_by=user,
            expires_at=expires_at,
        )
        audit_create(
            actor=actor, instance=token, fields=TOKEN_FIELDS, site_id=site.public_id if site else None
        )
    return IssuedToken(token=token, secret=secret)


def token_revoke(*, actor: Actor, token: ApiToken, reason: str = "revoked") -> ApiToken:
    reason = require_reason(reason)
    if token.revoked_at is not None:
        raise Conflict("This token is already revoked.")
    with transaction.atomic():
        token.revoked_at = now()
        token.revoked_by = actor.user
        token.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
        audit_update(
            actor=actor,
            instance=token,
            changes={"revoked_at": {"old": None, "new": token.revoked_at}},
            site_id=token.site.public_id if token.site else None,
            reason=reason,
        )
    return token


def token_authenticate(*, secret: str) -> ApiToken | None:
    """The live token for ``secret``, or None. Records when it was last used (to the minute)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.filter(secret_hash=_secret_hash(secret), revoked_at__isnull=True)
        .select_related("user", "site")
        .first()
    )
    if token is None:
        return None
    moment = now()
    if token.expires_at is not None and token.expires_at <= moment:
        return None
    if token.user is not None and not token.user.is_active:
        return None
    if token.site is not None and not token.site.is_active:
        return None
    if token.last_used_at is None or moment - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=moment)
        token.last_used_at = moment
    return token


def token_require_user(token: ApiToken) -> User:
    if token.kind != TokenKind.USER or token.user is None:
        raise TokenScopeError(
            "A device token cannot use this endpoint.", fields={"authorization": ["device token"]}
        )
    return token.user


# Credentials ------------------------------------------------------------------------------------
def _validated_credential(
    kind: str, title: str, identifier: str, issuer: str, valid_from: date, valid_until: date | None
) -> tuple[str, str, str]:
    if kind not in CredentialKind.values:
        raise field_error("kind", f"must be one of {', '.join(CredentialKind.values)}")
    title = _required_text("title", title, max_length=200)
    identifier = _required_text("identifier", identifier, max_length=100)
    issuer = _required_text("issuer", issuer, max_length=200)
    if valid_until is not None and valid_until < valid_from:
        raise field_error("valid_until", "must be on or after valid_from")
    return title, identifier, issuer


def _may_manage_credentials(actor: Actor, site: Site, holder: User) -> None:
    user = actor.user
    if user is None or (user.pk != holder.pk and not has_role(user, site, Role.SITE_ADMIN)):
        raise PermissionDenied("Only the holder or a site administrator can record credentials.")
    if not SiteMembership.objects.filter(site=site, user=holder).exists():
        raise field_error("user", "is not a member of this site")


def credential_create(
    *,
    actor: Actor,
    site: Site,
    holder: User,
    kind: str,
    title: str,
    identifier: str,
    issuer: str,
    valid_from: date,
    valid_until: date | None,
) -> StaffCredential:
    title, identifier, issuer = _validated_credential(
        kind, title, identifier, issuer, valid_from, valid_until
    )
    _may_manage_credentials(actor, site, holder)
    with transaction.atomic():
        credential = StaffCredential.objects.create(
            user=holder,
            site=site,
            kind=kind,
            title=title,
            identifier=identifier,
            issuer=issuer,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        audit_create(actor=actor, instance=credential, fields=CREDENTIAL_FIELDS, site_id=site.public_id)
    return credential


def credential_update(
    *,
    actor: Actor,
    credential: StaffCredential,
    title: str,
    identifier: str,
    issuer: str,
    valid_from: date,
    valid_until: date | None,
    reason: str,
) -> StaffCredential:
    reason = require_reason(reason)
    title, identifier, issuer = _validated_credential(
        credential.kind, title, identifier, issuer, valid_from, valid_until
    )
    _may_manage_credentials(actor, credential.site, credential.user)
    with transaction.atomic():
        credential = (
            StaffCredential.objects.select_for_update().select_related("user", "site").get(pk=credential.pk)
        )
        before = snapshot(credential, CREDENTIAL_FIELDS)
        credential.title, credential.identifier, credential.issuer = title, identifier, issuer
        credential.valid_from, credential.valid_until = valid_from, valid_until
        changes = diff(before, snapshot(credential, CREDENTIAL_FIELDS))
        if not changes:
            return credential
        credential.save()
        audit_update(
            actor=actor,
            instance=credential,
            changes=changes,
            site_id=credential.site.public_id,
            reason=reason,
        )
    return credential


def credential_review(
    *, actor: Actor, credential: StaffCredential, password: str, otp_code: str = ""
) -> Signature:
    """A site administrator signs that they checked the credential against its source."""
    user = actor.user
    if user is None or not has_role(user, credential.site, Role.SITE_ADMIN):
        raise PermissionDenied("Only a site administrator can review credentials.")
    if user.pk == credential.user_id:
        raise PermissionDenied("A credential must be reviewed by someone other than its holder.")
    return sign(
        actor=actor,
        record=credential,
        meaning=SignatureMeaning.REVIEWED,
        password=password,
        otp_code=otp_code,
    )


# Start-up safety --------------------------------------------------------------------------------
def assert_safe_to_serve() -> None:
    """Refuse to serve a production install that still holds the demo's well-known accounts."""
    if settings.PRODUCTION and demo_accounts_exist():
        raise ImproperlyConfigured(
            "HAVEN_ENV=production but demo accounts exist (created by `haven demo`); "
            "this database is not fit for production."
        )
