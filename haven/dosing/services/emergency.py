"""Medical emergencies in the session room, the site's emergency plan, and the equipment checks.

Declaring is one tap: it never asks a question first. It opens the emergency record, alerts the
physicians on call and every member of staff at the site at once (a notification each, and an
e-mail), and flags the record for serious-adverse-event review. Closing needs a physician's signed
summary.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction

from haven.accounts.models import Role, Site, User
from haven.accounts.selectors import roles_for
from haven.accounts.signing import reauthenticate
from haven.audit.context import Actor
from haven.audit.models import SignatureMeaning
from haven.audit.services import audit_create, audit_update
from haven.audit.signatures import signature_record
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from haven.core.time import now, today_at
from haven.dosing.models import (
    DosingSession,
    Emergency,
    EmergencyEvent,
    EmergencyEventKind,
    EmergencyPlan,
    EmergencyStatus,
    EquipmentCheck,
    SessionStatus,
)
from haven.dosing.services.oncall import notify, on_call_physicians
from haven.dosing.services.session import SESSION_ROLES, announce

# Used until a site administrator records the site's own plan. [U] a generic outline, not a protocol.
DEFAULT_PROCEDURE = (
    "1. Call out for help and stay with the patient.\n"
    "2. Check airway, breathing, circulation; measure vital signs and SpO2 now.\n"
    "3. The physician on call directs treatment; give medications only on their order.\n"
    "4. If in doubt, call emergency services; the physician decides on transfer.\n"
    "5. Record every intervention and medication here as it happens."
)
DEFAULT_EQUIPMENT = (
    "Pulse oximeter",
    "Automated external defibrillator (AED)",
    "Crash cart (sealed, in date)",
    "Oxygen supply",
    "Blood pressure monitor",
)
EVENT_BEFORE_DECLARATION = timedelta(hours=1)


def site_staff(site: Site) -> list[User]:
    return list(User.objects.filter(is_active=True, memberships__site=site).distinct().order_by("pk"))


def emergency_plan(site: Site) -> tuple[str, list[str]]:
    plan = EmergencyPlan.objects.filter(site=site).first()
    if plan is None:
        return DEFAULT_PROCEDURE, list(DEFAULT_EQUIPMENT)
    return plan.procedure, list(plan.equipment)


def emergency_declare(*, actor: Actor, session: DosingSession, description: str = "") -> Emergency:
    """Declare an emergency; a second tap while one is open returns the open one."""
    user = actor.user
    site = session.course.site
    if user is None or not roles_for(user, site) & (SESSION_ROLES | {Role.COORDINATOR, Role.SITE_ADMIN}):
        raise PermissionDenied("Declaring an emergency needs a clinical or coordinating role at the site.")
    if session.status == SessionStatus.DISCHARGED:
        raise ValidationFailed("session: the session has ended", code="session_closed")
    with transaction.atomic():
        DosingSession.objects.select_for_update().filter(pk=session.pk).first()
        existing = Emergency.objects.filter(session=session, status=EmergencyStatus.OPEN).first()
        if existing is not None:
            return existing
        moment = now()
        emergency = Emergency.objects.create(
            session=session, declared_by=user, declared_at=moment, description=description.strip()
        )
        audit_create(
            actor=actor,
            instance=emergency,
            fields=("declared_at", "description", "sae_review"),
            site_id=site.public_id,
        )
        patient = session.course.patient.study_id
        notify(
            actor=actor,
            site=site,
            recipients=[*on_call_physicians(site, moment), *site_staff(site)],
            subject=f"Haven: MEDICAL EMERGENCY, {patient}, {site.name}",
            body=(
                f"{user.printed_name} declared a medical emergency at {moment:%H:%M} UTC in the session "
                f"{session.visit.name} of {patient}.\n{description.strip()}"
            ),
            emergency=emergency,
        )
        announce(session, "emergency", emergency=str(emergency.public_id), status="open")
    return emergency


def emergency_event_add(
    *, actor: Actor, emergency: Emergency, kind: str, at: datetime, detail: str, place: str = ""
) -> EmergencyEvent:
    user = actor.user
    session = emergency.session
    if user is None or not roles_for(user, session.course.site) & SESSION_ROLES:
        raise PermissionDenied("Recording the emergency needs the therapist or physician role.")
    problems: dict[str, list[str]] = {}
    if kind not in EmergencyEventKind.values:
        problems["kind"] = [f"must be one of {', '.join(EmergencyEventKind.values)}"]
    if not detail.strip():
        problems["detail"] = ["is required"]
    if kind == EmergencyEventKind.TRANSFER and not place.strip():
        problems["place"] = ["name the hospital the patient is transferred to"]
    if at.tzinfo is None:
        problems["at"] = ["needs a time zone"]
    elif at > now() + timedelta(minutes=5):
        problems["at"] = ["cannot be in the future"]
    elif at < emergency.declared_at - EVENT_BEFORE_DECLARATION:
        problems["at"] = ["is more than an hour before the emergency was declared"]
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems)
    with transaction.atomic():
        emergency = Emergency.objects.select_for_update().get(pk=emergency.pk)
        if emergency.status != EmergencyStatus.OPEN:
            raise Conflict("The emergency is closed; its record can no longer change.")
        event = EmergencyEvent.objects.create(
            emergency=emergency, kind=kind, at=at, detail=detail.strip(), place=place.strip(), by=user
        )
        audit_create(
            actor=actor,
            instance=event,
            fields=("kind", "at", "detail", "place"),
            site_id=session.course.site.public_id,
        )
        announce(session, "emergency", emergency=str(emergency.public_id), status="open")
    return event


def emergency_close(
    *, actor: Actor, emergency: Emergency, summary: str, password: str, otp_code: str = ""
) -> Emergency:
    """Close the emergency with the physician's summary, signed (meaning "approved")."""
    user = actor.user
    session = emergency.session
    site = session.course.site
    if user is None or Role.PHYSICIAN not in roles_for(user, site):
        raise PermissionDenied("Only a physician closes an emergency.")
    if not summary.strip():
        raise field_error("summary", "the physician's summary is required")
    if emergency.status != EmergencyStatus.OPEN:
        raise Conflict("This emergency is already closed.")
    reauthenticate(actor=actor, password=password, otp_code=otp_code)
    with transaction.atomic():
        emergency = Emergency.objects.select_for_update().get(pk=emergency.pk)
        if emergency.status != EmergencyStatus.OPEN:
            raise Conflict("This emergency is already closed.")
        emergency.status, emergency.summary = EmergencyStatus.CLOSED, summary.strip()
        emergency.closed_by, emergency.closed_at = user, now()
        emergency.save()
        audit_update(
            actor=actor,
            instance=emergency,
            changes={
                "status": {"old": "open", "new": "closed"},
                "summary": {"old": "", "new": emergency.summary},
            },
            site_id=site.public_id,
            reason="closed with the physician's signed summary",
        )
        signature_record(actor=actor, record=emergency, meaning=SignatureMeaning.APPROVED)
        announce(session, "emergency", emergency=str(emergency.public_id), status="closed")
    return emergency


def emergency_plan_set(*, actor: Actor, site: Site, procedure: str, equipment: list[str]) -> EmergencyPlan:
    user = actor.user
    if user is None or Role.SITE_ADMIN not in roles_for(user, site):
        raise PermissionDenied("The emergency plan is kept by the site administrator.")
    items = [item.strip() for item in equipment if item.strip()]
    problems: dict[str, list[str]] = {}
    if not procedure.strip():
        problems["procedure"] = ["is required"]
    if not items:
        problems["equipment"] = ["list at least one item"]
    elif len(set(items)) != len(items):
        problems["equipment"] = ["an item is listed twice"]
    elif any(len(item) > 100 for item in items):
        problems["equipment"] = ["each item at most 100 characters"]
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems)
    with transaction.atomic():
        plan = EmergencyPlan.objects.select_for_update().filter(site=site).first()
        if plan is None:
            plan = EmergencyPlan.objects.create(site=site, procedure=procedure.strip(), equipment=items)
            audit_create(
                actor=actor, instance=plan, fields=("procedure", "equipment"), site_id=site.public_id
            )
            return plan
        changes = {
            name: {"old": getattr(plan, name), "new": value}
            for name, value in (("procedure", procedure.strip()), ("equipment", items))
            if getattr(plan, name) != value
        }
        if changes:
            plan.procedure, plan.equipment = procedure.strip(), items
            plan.save()
            audit_update(
                actor=actor, instance=plan, changes=changes, site_id=site.public_id, reason="plan revised"
            )
    return plan


def equipment_check(*, actor: Actor, site: Site, item: str, ok: bool, note: str = "") -> EquipmentCheck:
    """Record today's check of one item (today where the site is)."""
    user = actor.user
    if user is None or not roles_for(user, site) & (SESSION_ROLES | {Role.COORDINATOR, Role.SITE_ADMIN}):
        raise PermissionDenied("Checking equipment needs a clinical or coordinating role at the site.")
    _, equipment = emergency_plan(site)
    if item not in equipment:
        raise field_error("item", "is not on the site's equipment list")
    if not ok and not note.strip():
        raise field_error("note", "say what is wrong with it")
    with transaction.atomic():
        check = EquipmentCheck.objects.create(
            site=site, day=today_at(site.time_zone), item=item, ok=ok, note=note.strip(), by=user
        )
        audit_create(
            actor=actor, instance=check, fields=("day", "item", "ok", "note"), site_id=site.public_id
        )
    return check


def equipment_status(site: Site, day: date) -> list[tuple[str, EquipmentCheck | None]]:
    """Each item of the site's list with its newest check of ``day`` (None: not checked)."""
    _, equipment = emergency_plan(site)
    latest: dict[str, EquipmentCheck] = {}
    for check in EquipmentCheck.objects.filter(site=site, day=day).select_related("by"):
        latest[check.item] = check
    return [(item, latest.get(item)) for item in equipment]
