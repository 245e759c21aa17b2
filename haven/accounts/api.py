"""Accounts API: who am I, sites, staff credentials and their review signatures, API tokens."""

from __future__ import annotations

import uuid

from django.http import HttpRequest
from ninja import Router, Status

from haven.accounts import selectors, services
from haven.accounts.auth import principal_actor, principal_user, user_auth
from haven.accounts.models import ApiToken, Role, Site, StaffCredential
from haven.accounts.schemas import (
    CredentialCreateIn,
    CredentialOut,
    CredentialUpdateIn,
    MeOut,
    SignatureOut,
    SignIn,
    SiteRolesOut,
    SiteUpdateIn,
    StaffOut,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
    TokenRevokeIn,
)
from haven.audit.signatures import signatures_for
from haven.core.schemas import ERRORS

router = Router(auth=user_auth, tags=["accounts"])


def _site_out(site: Site, roles: tuple[str, ...]) -> SiteRolesOut:
    return SiteRolesOut(
        id=site.public_id, name=site.name, time_zone=site.time_zone, roles=[Role(r) for r in roles]
    )


def _credential_out(credential: StaffCredential) -> CredentialOut:
    return CredentialOut(
        id=credential.public_id,
        site_id=credential.site.public_id,
        user_id=credential.user.public_id,
        holder=str(credential.user),
        kind=credential.kind,  # type: ignore[arg-type]
        title=credential.title,
        identifier=credential.identifier,
        issuer=credential.issuer,
        valid_from=credential.valid_from,
        valid_until=credential.valid_until,
        signatures=[
            SignatureOut(
                id=view.signature.public_id,
                printed_name=view.signature.printed_name,
                meaning=view.signature.meaning,
                signed_at=view.signature.signed_at,
                status=view.status,
            )
            for view in signatures_for(credential)
        ],
    )


def _token_out(token: ApiToken) -> dict[str, object]:
    return {
        "id": token.public_id,
        "kind": token.kind,
        "name": token.name,
        "prefix": token.prefix,
        "site_id": token.site.public_id if token.site else None,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


@router.get("/me", response={200: MeOut, **ERRORS}, summary="The signed-in user, their sites and roles")
def me_get(request: HttpRequest) -> MeOut:
    user = principal_user(request)
    roles = selectors.role_map(user)
    sites = selectors.sites_for(user)
    return MeOut(
        id=user.public_id,
        username=user.username,
        printed_name=user.printed_name,
        email=user.email,
        mfa_enrolled=services.mfa_enrolled(user),
        mfa_required=services.mfa_required(user),
        sites=[_site_out(site, roles.get(site.public_id, ())) for site in sites],
    )


@router.get("/sites", response={200: list[SiteRolesOut], **ERRORS}, summary="Sites the user belongs to")
def site_list(request: HttpRequest) -> list[SiteRolesOut]:
    user = principal_user(request)
    roles = selectors.role_map(user)
    return [_site_out(site, roles.get(site.public_id, ())) for site in selectors.sites_for(user)]


@router.get("/sites/{site_id}", response={200: SiteRolesOut, **ERRORS}, summary="One site")
def site_get(request: HttpRequest, site_id: uuid.UUID) -> SiteRolesOut:
    user = principal_user(request)
    site = selectors.access_site(user=user, site_id=site_id)
    return _site_out(site, selectors.role_map(user).get(site.public_id, ()))


@router.patch(
    "/sites/{site_id}",
    response={200: SiteRolesOut, **ERRORS},
    summary="Rename a site or change its time zone",
)
def site_update(request: HttpRequest, site_id: uuid.UUID, payload: SiteUpdateIn) -> SiteRolesOut:
    user = principal_user(request)
    site = selectors.access_site(user=user, site_id=site_id, roles=[Role.SITE_ADMIN])
    site = services.site_update(
        actor=principal_actor(request),
        site=site,
        name=payload.name,
        time_zone=payload.time_zone,
        reason=payload.reason,
    )
    return _site_out(site, selectors.role_map(user).get(site.public_id, ()))


@router.get(
    "/sites/{site_id}/staff", response={200: list[StaffOut], **ERRORS}, summary="Staff and roles at a site"
)
def staff_list(request: HttpRequest, site_id: uuid.UUID) -> list[StaffOut]:
    site = selectors.access_site(user=principal_user(request), site_id=site_id)
    return [
        StaffOut(user_id=m.user.public_id, printed_name=str(m.user), role=Role(m.role))
        for m in selectors.membership_list(site=site)
    ]


@router.get(
    "/sites/{site_id}/credentials",
    response={200: list[CredentialOut], **ERRORS},
    summary="Staff credentials at a site",
)
def credential_list(request: HttpRequest, site_id: uuid.UUID) -> list[CredentialOut]:
    site = selectors.access_site(user=principal_user(request), site_id=site_id)
    return [_credential_out(c) for c in selectors.credential_list(site=site)]


@router.post(
    "/sites/{site_id}/credentials", response={201: CredentialOut, **ERRORS}, summary="Record a credential"
)
def credential_create(
    request: HttpRequest, site_id: uuid.UUID, payload: CredentialCreateIn
) -> Status[CredentialOut]:
    site = selectors.access_site(user=principal_user(request), site_id=site_id)
    holder = selectors.site_member(site=site, user_id=payload.user_id)
    credential = services.credential_create(
        actor=principal_actor(request),
        site=site,
        holder=holder,
        kind=payload.kind,
        title=payload.title,
        identifier=payload.identifier,
        issuer=payload.issuer,
        valid_from=payload.valid_from,
        valid_until=payload.valid_until,
    )
    return Status(201, _credential_out(credential))


@router.patch(
    "/credentials/{credential_id}", response={200: CredentialOut, **ERRORS}, summary="Correct a credential"
)
def credential_update(
    request: HttpRequest, credential_id: uuid.UUID, payload: CredentialUpdateIn
) -> CredentialOut:
    credential = selectors.access_credential(user=principal_user(request), credential_id=credential_id)
    credential = services.credential_update(
        actor=principal_actor(request),
        credential=credential,
        title=payload.title,
        identifier=payload.identifier,
        issuer=payload.issuer,
        valid_from=payload.valid_from,
        valid_until=payload.valid_until,
        reason=payload.reason,
    )
    return _credential_out(credential)


@router.post(
    "/credentials/{credential_id}/review",
    response={201: CredentialOut, **ERRORS},
    summary="Sign the review of a credential (site administrator; re-enter password and code)",
)
def credential_review(
    request: HttpRequest, credential_id: uuid.UUID, payload: SignIn
) -> Status[CredentialOut]:
    credential = selectors.access_credential(user=principal_user(request), credential_id=credential_id)
    services.credential_review(
        actor=principal_actor(request),
        credential=credential,
        password=payload.password,
        otp_code=payload.otp_code,
    )
    return Status(201, _credential_out(credential))


@router.get(
    "/tokens", response={200: list[TokenOut], **ERRORS}, summary="My tokens and my sites' device tokens"
)
def token_list(request: HttpRequest) -> list[dict[str, object]]:
    return [_token_out(t) for t in selectors.token_list(user=principal_user(request))]


@router.post(
    "/tokens", response={201: TokenCreatedOut, **ERRORS}, summary="Create a token (secret shown once)"
)
def token_create(request: HttpRequest, payload: TokenCreateIn) -> Status[dict[str, object]]:
    user = principal_user(request)
    site = selectors.access_site(user=user, site_id=payload.site_id) if payload.site_id else None
    issued = services.token_create(
        actor=principal_actor(request),
        kind=payload.kind,
        name=payload.name,
        site=site,
        expires_at=payload.expires_at,
    )
    return Status(201, {**_token_out(issued.token), "secret": issued.secret})


@router.post("/tokens/{token_id}/revoke", response={200: TokenOut, **ERRORS}, summary="Revoke a token")
def token_revoke(request: HttpRequest, token_id: uuid.UUID, payload: TokenRevokeIn) -> dict[str, object]:
    token = selectors.access_token(user=principal_user(request), token_id=token_id)
    return _token_out(
        services.token_revoke(actor=principal_actor(request), token=token, reason=payload.reason)
    )


@router.post("/sessions/end-all", response={204: None, **ERRORS}, summary="Log out everywhere")
def logout_everywhere(request: HttpRequest) -> Status[None]:
    services.logout_everywhere(actor=principal_actor(request), user=principal_user(request))
    return Status(204, None)
