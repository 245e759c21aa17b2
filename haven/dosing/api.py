"""Dosing API. Today: device ingest of vital signs; the rest of the session room follows."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

from django.http import HttpRequest
from ninja import Router

from haven.accounts.auth import Principal, device_auth, user_auth
from haven.core.errors import PermissionDenied, ValidationFailed
from haven.core.schemas import ERRORS
from haven.core.time import now
from haven.dosing import selectors, services
from haven.dosing.ingest import parse_observations
from haven.dosing.schemas import IngestErrorOut, IngestOut

router = Router(tags=["dosing"])

OBSERVATIONS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "description": (
                        "One compact observation {id, at, parameter, value, unit}, a batch "
                        "{observations: [...]} (at most 1,000), a FHIR R4 Observation (vital-signs LOINC "
                        "codes 8480-6/8462-4 in an 85354-9 panel, 8867-4, 8310-5, 59408-5, 9279-1) or a "
                        "FHIR R4 Bundle of them. The device's id makes a retry idempotent."
                    ),
                    "type": "object",
                }
            },
            "application/fhir+json": {"schema": {"type": "object"}},
        },
    }
}


@router.post(
    "/sessions/{session_id}/observations",
    auth=[*device_auth, *user_auth],
    response={200: IngestOut, **ERRORS},
    summary="Post vital signs from a bedside device (or a person): one, a batch, or FHIR",
    openapi_extra=OBSERVATIONS_BODY,
)
def observations_post(request: HttpRequest, session_id: uuid.UUID) -> IngestOut:
    principal: Principal = request.auth  # type: ignore[attr-defined]
    if principal.device_site is not None:
        session = selectors.device_session(site=principal.device_site, session_id=session_id)
    elif principal.user is not None:
        session = selectors.access_session(user=principal.user, session_id=session_id)
        if not services.may_record(principal.user, session):
            raise PermissionDenied("Recording vital signs needs the therapist or physician role.")
    else:  # pragma: no cover - every principal is a device or a person
        raise PermissionDenied("Unknown caller.")
    try:
        payload = json.loads(request.body or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("body: not valid JSON", fields={"body": ["not valid JSON"]}) from None
    outcome = services.observations_ingest(
        actor=principal.actor, session=session, result=parse_observations(payload, now=now())
    )
    return IngestOut(
        stored=outcome.stored,
        already_stored=outcome.already_stored,
        refused=len(outcome.errors),
        errors=[IngestErrorOut(index=e.index, id=e.device_id, reason=e.reason) for e in outcome.errors],
    )
