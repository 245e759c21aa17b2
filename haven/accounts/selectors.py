"""Reads for accounts, and the access layer every app's ``access_*`` selectors build on.

A row of a site the user does not belong to is reported as "not found", never "forbidden": the
existence of another site's patients and records is itself confidential.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from haven.accounts.models import ApiToken, Role, Site, SiteMembership, StaffCredential, TokenKind, User
from haven.audit.signatures import SignatureView, signatures_for_many
from haven.core.errors import NotFound, PermissionDenied
from haven.core.ids import parse_public_id


def sites_for(user: User) -> QuerySet[Site]:
    """The active sites where ``user`` holds at least one role."""
    if not user.is_authenticated or not user.is_active:
        return Site.objects.none()
    return Site.objects.filter(is_active=True, memberships__user=user).distinct().order_by("name")


def roles_for(user: User, site: Site) -> frozenset[Role]:
    return frozenset(
        Role(r) for r in SiteMembership.objects.filter(user=user, site=site).values_list("role", flat=True)
    )


def role_map(user: User) -> dict[uuid.UUID, tuple[str, ...]]:
    """site public id → the roles ``user`` holds there (one query)."""
    result: dict[uuid.UUID, list[str]] = {}
    rows = SiteMembership.objects.filter(user=user, site__is_active=True).values_list(
        "site__public_id", "role"
    )
    for site_id, role in rows:
        result.setdefault(site_id, []).append(role)
    return {site_id: tuple(sorted(roles)) for site_id, roles in result.items()}


def access_site(*, user: User, site_id: uuid.UUID | str, roles: Iterable[Role] | None = None) -> Site:
    """The site, if ``user`` belongs to it; with ``roles``, only if they hold one of them.

    Not a member (or no such site): ``NotFound``. A member without one of ``roles``:
    ``PermissionDenied``, since the site's existence is no secret to its own staff.
    """
    site = sites_for(user).filter(public_id=parse_public_id(site_id)).first()
    if site is None:
        raise NotFound("Site not found.")
    if roles is not None:
        required = frozenset(roles)
        if not roles_for(user, site) & required:
            names = ", ".join(sorted(r.label for r in required))
            raise PermissionDenied(f"This needs one of these roles at {site.name}: {names}.")
    return site


def has_role(user: User, site: Site, *roles: Role) -> bool:
    return SiteMembership.objects.filter(user=user, site=site, role__in=roles).exists()


def membership_list(*, site: Site) -> QuerySet[SiteMembership]:
    return (
        SiteMembership.objects.filter(site=site).select_related("user").order_by("user__printed_name", "role")
    )


@dataclass(frozen=True)
class StaffMember:
    user: User
    roles: tuple[Role, ...]

    @property
    def role_labels(self) -> str:
        return ", ".join(role.label for role in self.roles)


def staff_list(*, site: Site) -> list[StaffMember]:
    """One row per person at ``site``, with all the roles they hold there."""
    grouped: dict[int, tuple[User, list[Role]]] = {}
    for membership in membership_list(site=site):
        grouped.setdefault(membership.user_id, (membership.user, []))[1].append(Role(membership.role))
    return [StaffMember(user=user, roles=tuple(roles)) for user, roles in grouped.values()]


def credential_list(*, site: Site) -> QuerySet[StaffCredential]:
    return StaffCredential.objects.filter(site=site).select_related("user", "site")


def credential_reviews(*, site: Site) -> list[tuple[StaffCredential, list[SignatureView]]]:
    """The site's credentials, each with its review signatures (valid or invalidated). Two queries."""
    credentials = list(credential_list(site=site))
    signatures = signatures_for_many(credentials)
    return [(c, signatures[c.public_id]) for c in credentials]


def credentials_awaiting_review(*, site: Site, reviewer: User) -> list[StaffCredential]:
    """Credentials without a valid review that ``reviewer`` could sign (not their own)."""
    return [
        credential
        for credential, views in credential_reviews(site=site)
        if credential.user_id != reviewer.pk and not any(v.valid for v in views)
    ]


def access_credential(*, user: User, credential_id: uuid.UUID | str) -> StaffCredential:
    credential = (
        StaffCredential.objects.filter(public_id=parse_public_id(credential_id), site__in=sites_for(user))
        .select_related("user", "site")
        .first()
    )
    if credential is None:
        raise NotFound("Credential not found.")
    return credential


def token_list(*, user: User) -> QuerySet[ApiToken]:
    """The user's own tokens, and the device tokens of sites they administer."""
    admin_sites = Site.objects.filter(memberships__user=user, memberships__role=Role.SITE_ADMIN)
    return (
        ApiToken.objects.filter(Q(user=user) | Q(kind=TokenKind.DEVICE, site__in=admin_sites))
        .select_related("user", "site", "created_by")
        .order_by("-created_at")
    )


def access_token(*, user: User, token_id: uuid.UUID | str) -> ApiToken:
    token_uuid = parse_public_id(token_id)
    token = ApiToken.objects.filter(public_id=token_uuid).select_related("user", "site").first()
    if token is None:
        raise NotFound("Token not found.")
    if token.kind == TokenKind.USER and token.user_id == user.pk:
        return token
    if (
        token.kind == TokenKind.DEVICE
        and token.site is not None
        and has_role(user, token.site, Role.SITE_ADMIN)
    ):
        return token
    raise NotFound("Token not found.")


def user_by_login(login: str) -> User | None:
    """The active or inactive user whose username or e-mail is ``login`` (case-insensitive)."""
    login = login.strip()
    if not login:
        return None
    return (User.objects.filter(username__iexact=login) | User.objects.filter(email__iexact=login)).first()


def demo_accounts_exist() -> bool:
    return User.objects.filter(is_demo=True).exists()


def site_member(*, site: Site, user_id: uuid.UUID | str) -> User:
    """A member of ``site``; anyone else is "not found"."""
    user = User.objects.filter(public_id=parse_public_id(user_id), memberships__site=site).distinct().first()
    if user is None:
        raise NotFound("No member of this site has that user id.")
    return user


def site_member_ids(*, site: Site) -> QuerySet[SiteMembership, int]:
    return SiteMembership.objects.filter(site=site).values_list("user_id", flat=True)
