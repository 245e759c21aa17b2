"""Writes for outcomes: responses and their scores, safety routing, the patient portal.

Safety routing happens inside the transaction that stores a response: a PHQ-9 item 9 of 1 or more,
or a C-SSRS moderate or high result, creates a safety alert and notifies the care team before the
response is acknowledged to whoever submitted it. Nothing about it waits for a batch job.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction

from haven.accounts.models import Role, Site, User
from haven.accounts.selectors import roles_for
from haven.audit.context import Actor
from haven.audit.services import audit_create, audit_update
from haven.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, field_error
from haven.core.events import publish
from haven.core.time import local, now, today_at
from haven.dosing.services.oncall import notify, on_call_physicians
from haven.outcomes import scoring, senders
from haven.outcomes.models import (
    DEFAULT_CRISIS_TEXT,
    FormRequest,
    PortalDraft,
    PortalLink,
    PortalMessage,
    PortalText,
    Respondent,
    Response,
    ResponseScore,
    ResponseSource,
    SafetyAction,
    SafetyAlert,
    SafetyAlertStatus,
    SecondFactor,
)
from haven.outcomes.schedule import DueForm, portal_forms
from haven.patients.models import EnrollmentCourse, PatientIdentity, Visit

# Who enters a form for a patient, or rates one.
RESPONSE_ROLES = frozenset({Role.THERAPIST, Role.PHYSICIAN, Role.COORDINATOR, Role.BLINDED_RATER})
# Who may send a patient a portal link, and who handles safety alerts.
PORTAL_ROLES = frozenset({Role.COORDINATOR, Role.THERAPIST, Role.PHYSICIAN, Role.SITE_ADMIN})
SAFETY_ROLES = frozenset({Role.THERAPIST, Role.PHYSICIAN, Role.COORDINATOR})
PORTAL_PREFIX = "hvp_"
PORTAL_MAX_FAILURES = 5


# Responses ----------------------------------------------------------------------------------------
def response_record(
    *,
    actor: Actor,
    course: EnrollmentCourse,
    instrument: str,
    answers: Mapping[str, Any],
    visit: Visit | None = None,
    request: FormRequest | None = None,
    respondent: str = Respondent.PATIENT,
    source: str = ResponseSource.STAFF,
    completed_at: datetime | None = None,
) -> Response:
    """Store a completed form with its score; a sign of suicidality raises a safety alert at once."""
    site = course.site
    if source == ResponseSource.STAFF and (
        actor.user is None or not roles_for(actor.user, site) & RESPONSE_ROLES
    ):
        raise PermissionDenied("Entering a form needs a clinical, coordinating or rater role here.")
    code = scoring.resolve(instrument)
    if code is None:
        raise field_error("instrument", f"unknown instrument {instrument!r}")
    if respondent not in Respondent.values:
        raise field_error("respondent", f"must be one of {', '.join(Respondent.values)}")
    if visit is not None and visit.course_id != course.pk:
        raise field_error("visit", "is not a visit of this course")
    if request is not None and (
        request.course_id != course.pk or scoring.resolve(request.instrument) != code
    ):
        raise field_error("request", "is not a request for this form of this course")
    moment = now()
    completed_at = completed_at or moment
    if completed_at.tzinfo is None or completed_at > moment + timedelta(minutes=5):
        raise field_error("completed_at", "must be a time with a zone, not in the future")
    scored = scoring.score_answers(code, answers)
    with transaction.atomic():
        if (
            visit is not None
            and Response.objects.select_for_update()
            .filter(
                course=course, instrument=code, visit=visit, respondent=respondent, entered_in_error=False
            )
            .exists()
        ):
            # Once per visit and respondent: the treatment guess is asked of the participant, the
            # therapist and the rater at the same visit.
            raise Conflict(f"This form was already completed by the {respondent} for this visit.")
        if request is not None and Response.objects.filter(request=request).exists():
            raise Conflict("This requested form was already completed.")
        response = Response.objects.create(
            course=course,
            visit=visit,
            request=request,
            instrument=code,
            instrument_version=scoring.version(code),
            answers=dict(answers),
            source=source,
            respondent=respondent,
            entered_by=actor.user if source == ResponseSource.STAFF else None,
            completed_at=completed_at,
        )
        audit_create(
            actor=actor,
            instance=response,
            fields=("instrument", "instrument_version", "answers", "source", "respondent", "completed_at"),
            site_id=site.public_id,
        )
        _store_score(actor, response, scored)
        if scored.suicidality:
            _safety_alert(actor, response, scored)
    return response


def form_request_create(
    *, actor: Actor, course: EnrollmentCourse, instrument: str, due_on: date, note: str = ""
) -> FormRequest:
    """Ask the patient for a form outside the protocol's schedule (e.g. a PHQ-9 next week)."""
    user = actor.user
    if user is None or not roles_for(user, course.site) & PORTAL_ROLES:
        raise PermissionDenied("Requesting a form needs a clinical or coordinating role here.")
    code = scoring.resolve(instrument)
    if code is None:
        raise field_error("instrument", f"unknown instrument {instrument!r}")
    if not scoring.patient_completes(code):
        raise field_error("instrument", "is completed by a clinician or rater, not by the patient")
    if due_on < today_at(course.site.time_zone):
        raise field_error("due_on", "cannot be in the past")
    with transaction.atomic():
        request = FormRequest.objects.create(
            course=course, instrument=code, due_on=due_on, requested_by=user, note=note.strip()[:300]
        )
        audit_create(
            actor=actor,
            instance=request,
            fields=("instrument", "due_on", "note"),
            site_id=course.site.public_id,
        )
    return request


def form_request_cancel(*, actor: Actor, request: FormRequest, reason: str) -> FormRequest:
    user = actor.user
    if user is None or not roles_for(user, request.course.site) & PORTAL_ROLES:
        raise PermissionDenied("Cancelling a requested form needs a clinical or coordinating role here.")
    if not reason.strip():
        raise field_error("reason", "say why the request is cancelled")
    with transaction.atomic():
        request = FormRequest.objects.select_for_update().get(pk=request.pk)
        if request.cancelled_at is not None or Response.objects.filter(request=request).exists():
            raise Conflict("This request is already cancelled or completed.")
        request.cancelled_at, request.cancel_reason = now(), reason.strip()[:300]
        request.save(update_fields=["cancelled_at", "cancel_reason", "updated_at"])
        audit_update(
            actor=actor,
            instance=request,
            changes={"cancelled_at": {"old": None, "new": request.cancelled_at}},
            site_id=request.course.site.public_id,
            reason=reason.strip(),
        )
    return request


def _store_score(actor: Actor, response: Response, scored: scoring.Scored) -> ResponseScore:
    stored = ResponseScore.objects.create(
        response=response,
        scorer_version=scored.scorer_version,
        total=scored.total,
        subscores=scored.subscores,
        band=scored.band,
        flags=scored.flags,
        missing_rule=scored.missing_rule,
        complete=scored.complete,
        detail=scored.detail,
    )
    audit_create(
        actor=actor,
        instance=stored,
        fields=("scorer_version", "total", "band", "missing_rule"),
        site_id=response.course.site.public_id,
    )
    return stored


def response_rescore(*, actor: Actor, response: Response) -> ResponseScore | None:
    """Score again with the current scorer; stored beside the old score, never over it.
    None when the current scorer's version is already stored."""
    scored = scoring.score_answers(response.instrument, response.answers)
    with transaction.atomic():
        if ResponseScore.objects.filter(response=response, scorer_version=scored.scorer_version).exists():
            return None
        return _store_score(actor, response, scored)


def response_mark_error(*, actor: Actor, response: Response, reason: str) -> Response:
    user = actor.user
    if user is None or not roles_for(user, response.course.site) & RESPONSE_ROLES:
        raise PermissionDenied("Marking a form entered in error needs a clinical or rater role here.")
    if not reason.strip():
        raise field_error("reason", "say why the form was entered in error")
    with transaction.atomic():
        response = Response.objects.select_for_update().get(pk=response.pk)
        if response.entered_in_error:
            raise Conflict("Already marked as entered in error.")
        response.entered_in_error, response.error_reason = True, reason.strip()
        response.save(update_fields=["entered_in_error", "error_reason", "updated_at"])
        audit_update(
            actor=actor,
            instance=response,
            changes={"entered_in_error": {"old": False, "new": True}},
            site_id=response.course.site.public_id,
            reason=reason.strip(),
        )
    return response


# Safety -------------------------------------------------------------------------------------------
def care_team(site: Site, moment: datetime) -> list[User]:
    """The physicians on call and the site's therapists."""
    therapists = list(
        User.objects.filter(is_active=True, memberships__site=site, memberships__role=Role.THERAPIST)
        .distinct()
        .order_by("pk")
    )
    return list(dict.fromkeys([*on_call_physicians(site, moment), *therapists]))


def _safety_alert(actor: Actor, response: Response, scored: scoring.Scored) -> SafetyAlert:
    course = response.course
    site = course.site
    message = "; ".join(f["message"] for f in scored.suicidality)
    alert = SafetyAlert.objects.create(course=course, response=response, kind="suicidality", message=message)
    audit_create(actor=actor, instance=alert, fields=("kind", "message"), site_id=site.public_id)
    patient = course.patient.study_id
    notify(
        actor=actor,
        site=site,
        recipients=care_team(site, now()),
        subject=f"Haven: safety alert for {patient}",
        body=(
            f"{scoring.name(response.instrument)} completed by {patient} at "
            f"{local(response.completed_at, site.time_zone):%Y-%m-%d %H:%M}: {message}.\n"
            "Acknowledge it in Haven with the action taken."
        ),
        about=alert,
    )
    publish(site.public_id, "safety", course=str(course.public_id), alert=str(alert.public_id))
    return alert


def safety_alert_acknowledge(*, actor: Actor, alert: SafetyAlert, action: str, note: str = "") -> SafetyAlert:
    user = actor.user
    if user is None or not roles_for(user, alert.course.site) & SAFETY_ROLES:
        raise PermissionDenied("Acknowledging a safety alert needs a clinical role here.")
    if action not in SafetyAction.values:
        raise field_error("action", f"must be one of {', '.join(SafetyAction.values)}")
    if action == SafetyAction.OTHER and not note.strip():
        raise field_error("note", "say what was done when the action is 'other'")
    with transaction.atomic():
        alert = SafetyAlert.objects.select_for_update().get(pk=alert.pk)
        if alert.status != SafetyAlertStatus.OPEN:
            raise Conflict(f"This alert is already {alert.get_status_display().lower()}.")
        alert.status, alert.acknowledged_by, alert.acknowledged_at = (
            SafetyAlertStatus.ACKNOWLEDGED,
            user,
            now(),
        )
        alert.action, alert.action_note = action, note.strip()
        alert.save()
        audit_update(
            actor=actor,
            instance=alert,
            changes={
                "status": {"old": "open", "new": "acknowledged"},
                "action": {"old": None, "new": action},
            },
            site_id=alert.course.site.public_id,
            reason=note.strip() or SafetyAction(action).label,
        )
    return alert


def safety_alert_resolve(*, actor: Actor, alert: SafetyAlert, note: str) -> SafetyAlert:
    user = actor.user
    if user is None or not roles_for(user, alert.course.site) & SAFETY_ROLES:
        raise PermissionDenied("Resolving a safety alert needs a clinical role here.")
    if not note.strip():
        raise field_error("note", "say how the alert was resolved")
    with transaction.atomic():
        alert = SafetyAlert.objects.select_for_update().get(pk=alert.pk)
        if alert.status != SafetyAlertStatus.ACKNOWLEDGED:
            raise Conflict("A safety alert is acknowledged before it is resolved.")
        alert.status, alert.resolved_by, alert.resolved_at = SafetyAlertStatus.RESOLVED, user, now()
        alert.save()
        audit_update(
            actor=actor,
            instance=alert,
            changes={"status": {"old": "acknowledged", "new": "resolved"}},
            site_id=alert.course.site.public_id,
            reason=note.strip(),
        )
    return alert


# The patient portal -------------------------------------------------------------------------------
def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def portal_text(site: Site) -> tuple[str, str]:
    """The site's contact text and crisis text for the portal."""
    text = PortalText.objects.filter(site=site).first()
    if text is None:
        return f"Questions about your forms? Call {site.name}.", DEFAULT_CRISIS_TEXT
    return text.contact_text, text.crisis_text


def portal_link_create(
    *,
    actor: Actor,
    course: EnrollmentCourse,
    channel: str,
    second_factor: str = SecondFactor.DATE_OF_BIRTH,
    pin: str = "",
    days: int | None = None,
) -> tuple[PortalLink, str]:
    """Make a new link for the patient (the previous one stops working) and send it.
    Returns the link and its secret, which is shown nowhere else and never stored."""
    user = actor.user
    site = course.site
    if user is None or not roles_for(user, site) & PORTAL_ROLES:
        raise PermissionDenied("Sending a portal link needs a clinical or coordinating role here.")
    problems: dict[str, list[str]] = {}
    identity = PatientIdentity.objects.filter(patient=course.patient).first()
    address = ""
    if channel == "email":
        address = identity.email if identity else ""
        if not address:
            problems["channel"] = ["the patient has no e-mail address on file"]
    elif channel == "sms":
        address = identity.phone if identity else ""
        if not address:
            problems["channel"] = ["the patient has no phone number on file"]
    elif channel == "console":
        if settings.HAVEN_ENV == "production":
            problems["channel"] = ["console delivery is for the demo and tests only"]
        address = "console"
    else:
        problems["channel"] = ["must be email, sms or console"]
    if second_factor not in SecondFactor.values:
        problems["second_factor"] = [f"must be one of {', '.join(SecondFactor.values)}"]
    elif second_factor == SecondFactor.PIN and not (pin.isdigit() and 4 <= len(pin) <= 8):
        problems["pin"] = ["4 to 8 digits"]
    days = days if days is not None else settings.HAVEN_PORTAL_LINK_DAYS
    if not 1 <= days <= 90:
        problems["days"] = ["between 1 and 90"]
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems)
    secret = PORTAL_PREFIX + secrets.token_urlsafe(32)
    moment = now()
    url = f"{settings.HAVEN_PUBLIC_URL}/p/{secret}/"
    body = (
        f"{site.name} has forms for you to complete. Open this private link (it works until "
        f"{local(moment + timedelta(days=days), site.time_zone):%Y-%m-%d}):\n{url}\n"
        "Do not forward it. If you did not expect this message, call the clinic."
    )
    with transaction.atomic():
        for old in PortalLink.objects.select_for_update().filter(course=course, revoked_at__isnull=True):
            old.revoked_at = moment
            old.save(update_fields=["revoked_at", "updated_at"])
            audit_update(
                actor=actor,
                instance=old,
                changes={"revoked_at": {"old": None, "new": moment}},
                site_id=site.public_id,
                reason="replaced by a new link",
            )
        link = PortalLink.objects.create(
            course=course,
            secret_hash=_hash(secret),
            expires_at=moment + timedelta(days=days),
            second_factor=second_factor,
            pin_hash=make_password(pin) if second_factor == SecondFactor.PIN else "",
            channel=channel,
            sent_to=senders.mask(channel, address),
            created_by=user,
        )
        audit_create(
            actor=actor,
            instance=link,
            fields=("expires_at", "second_factor", "channel", "sent_to"),
            site_id=site.public_id,
        )
        message = PortalMessage.objects.create(
            course=course,
            link=link,
            kind="link",
            channel=channel,
            sent_to=link.sent_to,
            body=body.replace(secret, PORTAL_PREFIX + "…"),
        )
        audit_create(
            actor=actor, instance=message, fields=("kind", "channel", "sent_to"), site_id=site.public_id
        )
        senders.send(channel=channel, to=address, subject=f"Your forms at {site.name}", body=body)
    return link, secret


def portal_link_revoke(*, actor: Actor, link: PortalLink, reason: str) -> PortalLink:
    user = actor.user
    if user is None or not roles_for(user, link.course.site) & PORTAL_ROLES:
        raise PermissionDenied("Revoking a portal link needs a clinical or coordinating role here.")
    if not reason.strip():
        raise field_error("reason", "say why the link is revoked")
    with transaction.atomic():
        link = PortalLink.objects.select_for_update().get(pk=link.pk)
        if link.revoked_at is not None:
            raise Conflict("This link is already revoked.")
        link.revoked_at = now()
        link.save(update_fields=["revoked_at", "updated_at"])
        audit_update(
            actor=actor,
            instance=link,
            changes={"revoked_at": {"old": None, "new": link.revoked_at}},
            site_id=link.course.site.public_id,
            reason=reason.strip(),
        )
    return link


def portal_open(secret: str) -> PortalLink:
    """The live link for ``secret``; anything else (unknown, expired, revoked) is "not found"."""
    if not secret.startswith(PORTAL_PREFIX):
        raise NotFound("This link is not valid.")
    link = (
        PortalLink.objects.filter(secret_hash=_hash(secret), revoked_at__isnull=True, expires_at__gt=now())
        .select_related("course__site", "course__patient", "course__protocol_version")
        .first()
    )
    if link is None:
        raise NotFound("This link is not valid or has expired. Ask the clinic for a new one.")
    return link


def portal_live(link_id: int) -> PortalLink:
    link = (
        PortalLink.objects.filter(pk=link_id, revoked_at__isnull=True, expires_at__gt=now())
        .select_related("course__site", "course__patient", "course__protocol_version")
        .first()
    )
    if link is None:
        raise NotFound("This link is not valid or has expired. Ask the clinic for a new one.")
    return link


def portal_actor(link: PortalLink, *, ip: str | None = None, user_agent: str = "") -> Actor:
    return Actor(
        user=None,
        printed_name=f"{link.course.patient.study_id} (patient, portal)",
        ip=ip,
        user_agent=user_agent,
    )


def portal_verify(*, link: PortalLink, value: str, ip: str | None = None) -> bool:
    """Check the second factor. Five wrong answers revoke the link (audited)."""
    if link.second_factor == SecondFactor.NONE:
        return True
    if link.second_factor == SecondFactor.PIN:
        ok = check_password(value.strip(), link.pin_hash)
    else:
        identity = PatientIdentity.objects.filter(patient=link.course.patient).first()
        try:
            given = date.fromisoformat(value.strip())
        except ValueError:
            given = None
        ok = identity is not None and given == identity.date_of_birth
    with transaction.atomic():
        locked = PortalLink.objects.select_for_update().get(pk=link.pk)
        if ok:
            locked.failed_attempts = 0
            locked.last_used_at = now()
            locked.save(update_fields=["failed_attempts", "last_used_at", "updated_at"])
            return True
        locked.failed_attempts += 1
        changes: dict[str, Any] = {
            "failed_attempts": {"old": locked.failed_attempts - 1, "new": locked.failed_attempts}
        }
        if locked.failed_attempts >= PORTAL_MAX_FAILURES:
            locked.revoked_at = now()
            changes["revoked_at"] = {"old": None, "new": locked.revoked_at}
        locked.save(update_fields=["failed_attempts", "revoked_at", "updated_at"])
        audit_update(
            actor=portal_actor(locked, ip=ip),
            instance=locked,
            changes=changes,
            site_id=locked.course.site.public_id,
            reason="wrong second factor" + ("; link revoked" if locked.revoked_at else ""),
        )
    return False


def _portal_form(link: PortalLink, instrument: str, key: str) -> DueForm:
    course = link.course
    for form in portal_forms(course, today_at(course.site.time_zone)):
        if form.instrument == instrument and form.key == key:
            return form
    raise NotFound("This form is not waiting for you.")


def portal_draft_save(
    *, link: PortalLink, instrument: str, key: str, answers: Mapping[str, Any]
) -> PortalDraft:
    _portal_form(link, instrument, key)
    clean = {k: v for k, v in answers.items() if v not in (None, "")}
    with transaction.atomic():
        draft, _ = PortalDraft.objects.select_for_update().get_or_create(
            link=link, instrument=instrument, form_key=key, defaults={"answers": clean}
        )
        draft.answers = clean
        draft.save(update_fields=["answers", "updated_at"])
    return draft


def portal_draft(link: PortalLink, instrument: str, key: str) -> dict[str, Any]:
    """The answers saved so far (also under an earlier link of the same patient)."""
    draft = (
        PortalDraft.objects.filter(link__course=link.course, instrument=instrument, form_key=key)
        .order_by("-updated_at")
        .first()
    )
    return dict(draft.answers) if draft else {}


def portal_submit(
    *,
    link: PortalLink,
    instrument: str,
    key: str,
    answers: Mapping[str, Any],
    ip: str | None = None,
    user_agent: str = "",
) -> Response:
    form = _portal_form(link, instrument, key)
    actor = portal_actor(link, ip=ip, user_agent=user_agent)
    with transaction.atomic():
        response = response_record(
            actor=actor,
            course=link.course,
            instrument=instrument,
            answers=answers,
            visit=form.visit,
            request=form.request,
            respondent=Respondent.PATIENT,
            source=ResponseSource.PORTAL,
        )
        PortalDraft.objects.filter(link__course=link.course, instrument=instrument, form_key=key).delete()
        PortalLink.objects.filter(pk=link.pk).update(last_used_at=now())
    return response


def reminders_send(*, moment: datetime | None = None, only_sites: list[Site] | None = None) -> int:
    """Remind patients with a live link of forms waiting for them: at most once a day per form."""
    moment = moment or now()
    sent = 0
    actor = Actor.system("haven portal reminders")
    links = PortalLink.objects.filter(revoked_at__isnull=True, expires_at__gt=moment).select_related(
        "course__site", "course__patient", "course__protocol_version"
    )
    if only_sites is not None:
        links = links.filter(course__site__in=only_sites)
    for link in links:
        course = link.course
        if link.channel not in ("email", "sms", "console"):
            continue
        waiting = portal_forms(course, local(moment, course.site.time_zone).date())
        identity = PatientIdentity.objects.filter(patient=course.patient).first()
        address = {
            "email": identity.email if identity else "",
            "sms": identity.phone if identity else "",
        }.get(link.channel, "console")
        for form in waiting:
            recent = PortalMessage.objects.filter(
                course=course,
                kind="reminder",
                instrument=form.instrument,
                form_key=form.key,
                created_at__gt=moment - timedelta(days=1),
            ).exists()
            if recent or not address:
                continue
            body = (
                f"A reminder from {course.site.name}: your {form.name} is waiting. "
                "Open the link the clinic sent you to complete it."
            )
            with transaction.atomic():
                message = PortalMessage.objects.create(
                    course=course,
                    link=link,
                    kind="reminder",
                    channel=link.channel,
                    sent_to=link.sent_to,
                    body=body,
                    instrument=form.instrument,
                    form_key=form.key,
                )
                audit_create(
                    actor=actor,
                    instance=message,
                    fields=("kind", "channel", "instrument"),
                    site_id=course.site.public_id,
                )
                senders.send(
                    channel=link.channel,
                    to=address,
                    subject=f"Forms waiting at {course.site.name}",
                    body=body,
                )
            sent += 1
    return sent
