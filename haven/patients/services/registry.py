"""The patient registry: study IDs, identifying data kept apart, duplicates, audited views."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

from haven.accounts.models import Site
from haven.audit.context import Actor
from haven.audit.models import AuditAction
from haven.audit.services import audit_create, audit_record, audit_update, diff, require_reason, snapshot
from haven.core.errors import field_error
from haven.core.time import today_at
from haven.patients.models import (
    Patient,
    PatientIdentity,
    PatientNumberSequence,
    Sex,
)
from haven.patients.roles import (
    IDENTITY_ROLES,
    REGISTER_ROLES,
)
from haven.patients.services.common import (
    IDENTITY_FIELDS,
    PATIENT_FIELDS,
    _require_role,
    _text,
)


# Registry ---------------------------------------------------------------------------------------
def _validated_identity(values: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    clean: dict[str, Any] = {
        "given_name": _text("given_name", values.get("given_name", ""), max_length=100),
        "family_name": _text("family_name", values.get("family_name", ""), max_length=100),
        "phone": _text("phone", values.get("phone", ""), max_length=40, required=False),
        "address": _text("address", values.get("address", ""), max_length=1000, required=False),
        "emergency_contact_name": _text(
            "emergency_contact_name", values.get("emergency_contact_name", ""), max_length=200, required=False
        ),
        "emergency_contact_phone": _text(
            "emergency_contact_phone",
            values.get("emergency_contact_phone", ""),
            max_length=40,
            required=False,
        ),
    }
    born = values.get("date_of_birth")
    if not isinstance(born, date):
        raise field_error("date_of_birth", "is required (YYYY-MM-DD)")
    if born > today:
        raise field_error("date_of_birth", "cannot be in the future")
    if born.year < 1900:
        raise field_error("date_of_birth", "must be in 1900 or later")
    clean["date_of_birth"] = born
    email = (values.get("email") or "").strip().lower()
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            raise field_error("email", "must be a valid e-mail address") from None
    clean["email"] = email
    return clean


def _next_study_id(site: Site) -> str:
    sequence, _ = PatientNumberSequence.objects.select_for_update().get_or_create(site=site)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"{site.code}-{sequence.last_number:04d}"


def _possible_duplicate(site: Site, identity: Mapping[str, Any]) -> Patient | None:
    """Same family name and birth date, or same full name, at the same site."""
    match = PatientIdentity.objects.filter(patient__site=site).filter(
        Q(family_name__iexact=identity["family_name"], date_of_birth=identity["date_of_birth"])
        | Q(family_name__iexact=identity["family_name"], given_name__iexact=identity["given_name"])
    )
    first = match.select_related("patient").order_by("patient__study_id").first()
    return first.patient if first else None


def patient_register(*, actor: Actor, site: Site, sex_at_birth: str, **identity: Any) -> Patient:
    """Register a patient: a new study ID, identifying data kept apart, a duplicate check."""
    user = _require_role(actor, site, REGISTER_ROLES, "Registering a patient")
    if sex_at_birth not in Sex.values:
        raise field_error("sex_at_birth", f"must be one of {', '.join(Sex.values)}")
    unknown = set(identity) - set(IDENTITY_FIELDS)
    if unknown:
        raise field_error(sorted(unknown)[0], "is not a field of a patient's identity")
    clean = _validated_identity(identity, today=today_at(site.time_zone))
    with transaction.atomic():
        patient = Patient.objects.create(
            site=site,
            study_id=_next_study_id(site),
            sex_at_birth=sex_at_birth,
            possible_duplicate_of=_possible_duplicate(site, clean),
            registered_by=user,
        )
        record = PatientIdentity.objects.create(patient=patient, **clean)
        audit_create(actor=actor, instance=patient, fields=PATIENT_FIELDS, site_id=site.public_id)
        audit_create(actor=actor, instance=record, fields=IDENTITY_FIELDS, site_id=site.public_id)
    return patient


def patient_identity_view(*, actor: Actor, patient: Patient, purpose: str = "") -> PatientIdentity:
    """The patient's identifying data, for a role that needs it. Every view is audited."""
    _require_role(actor, patient.site, IDENTITY_ROLES, "Seeing a patient's identifying data")
    identity = PatientIdentity.objects.get(patient=patient)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.VIEW,
            record_type=PatientIdentity.record_type(),
            record_id=identity.public_id,
            site_id=patient.site.public_id,
            changes={
                "patient": {"old": None, "new": patient.study_id},
                "purpose": {"old": None, "new": purpose},
            },
        )
    return identity


def patient_identity_update(
    *, actor: Actor, patient: Patient, reason: str, **changes: Any
) -> PatientIdentity:
    _require_role(actor, patient.site, IDENTITY_ROLES, "Changing a patient's identifying data")
    reason = require_reason(reason)
    with transaction.atomic():
        identity = PatientIdentity.objects.select_for_update().get(patient=patient)
        before = snapshot(identity, IDENTITY_FIELDS)
        clean = _validated_identity(
            {name: changes.get(name, getattr(identity, name)) for name in IDENTITY_FIELDS},
            today=today_at(patient.site.time_zone),
        )
        for name, value in clean.items():
            setattr(identity, name, value)
        changed = diff(before, snapshot(identity, IDENTITY_FIELDS))
        if changed:
            identity.save()
            audit_update(
                actor=actor, instance=identity, changes=changed, site_id=patient.site.public_id, reason=reason
            )
    return identity
