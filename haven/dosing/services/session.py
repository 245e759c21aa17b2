"""Writes for the dosing session: open it, confirm the checklist, check staff in and out, give doses
(checked against the protocol, witnessed by e-signature), record vital signs, and handle alerts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction

from haven.accounts.actors import user_actor
from haven.accounts.models import SIGNING_ROLES, Role, User
from haven.accounts.selectors import roles_for
from haven.accounts.signing import reauthenticate
from haven.audit.context import Actor
from haven.audit.models import AuditAction, SignatureMeaning
from haven.audit.services import audit_create, audit_record, audit_update
from haven.audit.signatures import signature_record
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from haven.core.events import publish
from haven.core.time import now, today_at
from haven.dosing import rules
from haven.dosing.ingest import ItemError, ParseResult
from haven.dosing.models import (
    Alert,
    AlertAction,
    AlertStatus,
    ChecklistAnswer,
    DoseAdministration,
    DosingSession,
    Observation,
    Presence,
    SessionStatus,
)
from haven.dosing.vitals import LOINC, AlertKind, VitalRefused, findings, normalize
from haven.patients.models import CourseStatus, Deviation, DeviationKind, Visit, VisitStatus
from haven.protocols.schema import VITAL_UNITS, Dosing, Monitoring, VitalSign
from haven.protocols.selectors import protocol_of
from haven.scheduling.models import Room
from haven.scheduling.services import licence_valid_on

SESSION_ROLES = frozenset({Role.THERAPIST, Role.PHYSICIAN})
ON_STUDY = (CourseStatus.PREPARATION, CourseStatus.TREATMENT, CourseStatus.INTEGRATION)


def _fresh(session: DosingSession) -> DosingSession:
    """The session as stored now: callers may hold a copy from before a dose changed it."""
    return DosingSession.objects.select_related("course__site", "course__protocol_version", "visit").get(
        pk=session.pk
    )


def _staff(actor: Actor, session_or_visit: DosingSession | Visit, doing: str) -> User:
    course = session_or_visit.course
    user = actor.user
    if user is None or not roles_for(user, course.site) & SESSION_ROLES:
        raise PermissionDenied(f"{doing} needs the therapist or physician role.")
    return user


def may_record(user: User, session: DosingSession) -> bool:
    return bool(roles_for(user, session.course.site) & SESSION_ROLES)


def _rules(session: DosingSession) -> tuple[Dosing, Monitoring]:
    protocol = protocol_of(session.course.protocol_version)
    if protocol.dosing is None or protocol.monitoring is None:
        raise ValidationFailed("protocol: this protocol has no dosing rules", code="no_dosing_rules")
    return protocol.dosing, protocol.monitoring


def session_open(*, actor: Actor, visit: Visit) -> DosingSession:
    """Open the session of a dosing visit on the day it takes place."""
    user = _staff(actor, visit, "Opening a dosing session")
    course = visit.course
    if visit.kind != "dosing":
        raise field_error("visit", f"{visit.name} is not a dosing visit")
    if course.status not in ON_STUDY:
        raise field_error("visit", "the patient is not on study")
    if visit.status not in (VisitStatus.PLANNED, VisitStatus.OCCURRED):
        raise field_error("visit", f"the visit is {visit.get_status_display().lower()}")
    if DosingSession.objects.filter(visit=visit).exists():
        raise Conflict("This visit already has a dosing session.")
    with transaction.atomic():
        session = DosingSession.objects.create(course=course, visit=visit, opened_by=user)
        audit_create(
            actor=actor, instance=session, fields=("course", "visit", "status"), site_id=course.site.public_id
        )
        announce(session, "session")
    return session


def checklist_answer(
    *, actor: Actor, session: DosingSession, code: str, done: bool, note: str = ""
) -> ChecklistAnswer:
    user = _staff(actor, session, "Confirming the checklist")
    _, monitoring = _rules(session)
    codes = [item.code for item in monitoring.pre_session_checklist]
    if code not in codes:
        raise field_error("code", f"must be one of {', '.join(codes)}")
    with transaction.atomic():
        answer = ChecklistAnswer.objects.create(
            session=session, code=code, done=done, note=note.strip(), by=user
        )
        audit_create(
            actor=actor,
            instance=answer,
            fields=("code", "done", "note"),
            site_id=session.course.site.public_id,
        )
    return answer


def checklist_open_items(session: DosingSession) -> list[str]:
    """Codes of the protocol's checks not (or no longer) confirmed, in the protocol's order."""
    _, monitoring = _rules(session)
    latest: dict[str, bool] = {}
    for answer in ChecklistAnswer.objects.filter(session=session).order_by("created_at", "pk"):
        latest[answer.code] = answer.done
    return [item.code for item in monitoring.pre_session_checklist if not latest.get(item.code)]


def presence_check_in(
    *, actor: Actor, session: DosingSession, user: User, role: Role, is_lead: bool = False
) -> Presence:
    _staff(actor, session, "Recording presence")
    if role not in roles_for(user, session.course.site):
        raise field_error("role", f"{user.printed_name} does not hold the {role.label} role here")
    if Presence.objects.filter(session=session, user=user, checked_out_at__isnull=True).exists():
        raise Conflict(f"{user.printed_name} is already checked in.")
    with transaction.atomic():
        presence = Presence.objects.create(
            session=session, user=user, role=role, is_lead=is_lead, checked_in_at=now()
        )
        audit_create(
            actor=actor,
            instance=presence,
            fields=("user", "role", "is_lead", "checked_in_at"),
            site_id=session.course.site.public_id,
        )
        session = _fresh(session)
        if session.staffing_gap_since is not None:
            _, monitoring = _rules(session)
            therapists = [p for p in present(session) if p.role == Role.THERAPIST]
            if len(therapists) >= monitoring.minimum_therapists:
                _staffing_gap_closes(actor, session, presence.checked_in_at)
        announce(session, "presence")
    return presence


def present(session: DosingSession) -> list[Presence]:
    return list(Presence.objects.filter(session=session, checked_out_at__isnull=True).select_related("user"))


def presence_check_out(*, actor: Actor, presence: Presence) -> Presence:
    """Check a person out. After the dose, fewer therapists than the protocol requires raises an alert."""
    session = _fresh(presence.session)
    _staff(actor, session, "Recording presence")
    _, monitoring = _rules(session)
    with transaction.atomic():
        presence = Presence.objects.select_for_update().get(pk=presence.pk)
        if presence.checked_out_at is not None:
            raise Conflict("Already checked out.")
        presence.checked_out_at = now()
        presence.save(update_fields=["checked_out_at", "updated_at"])
        audit_update(
            actor=actor,
            instance=presence,
            changes={"checked_out_at": {"old": None, "new": presence.checked_out_at}},
            site_id=session.course.site.public_id,
            reason="left the room",
        )
        therapists = [p for p in present(session) if p.role == Role.THERAPIST]
        if (
            session.status == SessionStatus.DOSED
            and len(therapists) < monitoring.minimum_therapists
            and session.staffing_gap_since is None
        ):
            _staffing_gap_opens(actor, session, presence, len(therapists), monitoring.minimum_therapists)
        announce(session, "presence")
    return presence


def _staffing_gap_opens(
    actor: Actor, session: DosingSession, presence: Presence, count: int, required: int
) -> None:
    """Fewer therapists than the protocol requires: an alert now, and a protocol deviation."""
    assert presence.checked_out_at is not None
    since = presence.checked_out_at
    message = f"{count} therapist(s) present; the protocol requires {required}"
    _alert(actor, session, AlertKind.STAFFING, "", message)
    DosingSession.objects.filter(pk=session.pk).update(staffing_gap_since=since)
    deviation = Deviation.objects.create(
        course=session.course,
        visit=session.visit,
        kind=DeviationKind.STAFFING,
        description=f"From {since:%Y-%m-%d %H:%M} UTC {message} ({presence.user.printed_name} left the room).",
        recorded_by=actor.user,
    )
    audit_create(
        actor=actor,
        instance=deviation,
        fields=("kind", "description"),
        site_id=session.course.site.public_id,
    )


def _staffing_gap_closes(actor: Actor, session: DosingSession, at: datetime) -> None:
    since = session.staffing_gap_since
    assert since is not None
    DosingSession.objects.filter(pk=session.pk).update(staffing_gap_since=None)
    deviation = (
        Deviation.objects.filter(visit=session.visit, kind=DeviationKind.STAFFING, created_at__gte=since)
        .order_by("-created_at", "-pk")
        .first()
    )
    if deviation is None:
        return
    minutes = int((at - since).total_seconds() // 60)
    old = deviation.description
    deviation.description = f"{old} Until {at:%H:%M} UTC ({minutes} min)."
    deviation.save(update_fields=["description", "updated_at"])
    audit_update(
        actor=actor,
        instance=deviation,
        changes={"description": {"old": old, "new": deviation.description}},
        site_id=session.course.site.public_id,
        reason="the required number of therapists is present again",
    )


def _alert(
    actor: Actor,
    session: DosingSession,
    kind: AlertKind,
    parameter: str,
    message: str,
    observation: Observation | None = None,
) -> Alert:
    alert = Alert.objects.create(
        session=session, kind=kind.value, parameter=parameter, message=message, observation=observation
    )
    audit_create(
        actor=actor,
        instance=alert,
        fields=("kind", "parameter", "message"),
        site_id=session.course.site.public_id,
    )
    announce_alert(alert, session)
    return alert


def announce(session: DosingSession, kind: str, **data: object) -> None:
    """Tell open boards and rooms that this session changed (after the commit)."""
    publish(session.course.site.public_id, kind, session=str(session.public_id), **data)


def announce_alert(alert: Alert, session: DosingSession) -> None:
    announce(
        session,
        "alert",
        alert=str(alert.public_id),
        alert_kind=alert.kind,
        status=alert.status,
        message=alert.message,
    )


def _baseline(session: DosingSession) -> dict[VitalSign, Decimal]:
    """The last value of each parameter before the first dose (or so far, before any dose)."""
    observations = Observation.objects.filter(session=session, entered_in_error=False)
    if session.first_dose_at is not None:
        observations = observations.filter(observed_at__lte=session.first_dose_at)
    baseline: dict[VitalSign, Decimal] = {}
    for observation in observations.order_by("observed_at", "pk"):
        baseline[VitalSign(observation.parameter)] = observation.value
    return baseline


def latest_within_limits(session: DosingSession) -> bool | None:
    """Whether the latest value of each measured parameter is inside the protocol's limits."""
    _, monitoring = _rules(session)
    latest: dict[VitalSign, Decimal] = {}
    for observation in Observation.objects.filter(session=session, entered_in_error=False).order_by(
        "observed_at", "pk"
    ):
        latest[VitalSign(observation.parameter)] = observation.value
    if not latest:
        return None
    return not any(
        f.kind == AlertKind.LIMIT
        for parameter, value in latest.items()
        for f in findings(monitoring, parameter, value, {})
    )


def vitals_record(
    *,
    actor: Actor,
    session: DosingSession,
    values: Mapping[str, tuple[Decimal | str | int, str]],
    observed_at: datetime,
    note: str = "",
) -> list[Observation]:
    """Record a set of vital signs (all or none); each stored value is checked for alerts."""
    session = _fresh(session)
    user = _staff(actor, session, "Recording vital signs")
    if observed_at.tzinfo is None:
        raise field_error("observed_at", "needs a time zone")
    if observed_at > now() + timedelta(minutes=5):
        raise field_error("observed_at", "cannot be in the future")
    if not values:
        raise field_error("values", "at least one value is required")
    _, monitoring = _rules(session)
    clean: list[tuple[VitalSign, Decimal]] = []
    for parameter, (value, unit) in values.items():
        try:
            clean.append(normalize(parameter, value, unit))
        except VitalRefused as refused:
            raise field_error(refused.parameter, refused.message) from None
    with transaction.atomic():
        baseline = _baseline(session)
        stored = [
            _store(
                actor, session, monitoring, baseline, vital, value, observed_at, entered_by=user, note=note
            )
            for vital, value in clean
        ]
        announce(session, "observation", count=len(stored))
    return stored


def _store(
    actor: Actor,
    session: DosingSession,
    monitoring: Monitoring,
    baseline: Mapping[VitalSign, Decimal],
    vital: VitalSign,
    value: Decimal,
    observed_at: datetime,
    *,
    entered_by: User | None,
    note: str = "",
    device_token_id: uuid.UUID | None = None,
    device_observation_id: str = "",
) -> Observation:
    """Store one observation, audit it, and raise the alerts it calls for."""
    observation = Observation.objects.create(
        session=session,
        parameter=vital.value,
        value=value,
        unit=VITAL_UNITS[vital],
        loinc=LOINC.get(vital, ""),
        observed_at=observed_at,
        entered_by=entered_by,
        note=note.strip(),
        device_token_id=device_token_id,
        device_observation_id=device_observation_id,
    )
    audit_create(
        actor=actor,
        instance=observation,
        fields=("parameter", "value", "unit", "observed_at", "device_observation_id"),
        site_id=session.course.site.public_id,
    )
    _check(actor, session, monitoring, baseline, observation)
    return observation


def _check(
    actor: Actor,
    session: DosingSession,
    monitoring: Monitoring,
    baseline: Mapping[VitalSign, Decimal],
    observation: Observation,
) -> None:
    """Raise the alerts one stored observation calls for (limits; after the dose, the baseline too)."""
    vital, value = VitalSign(observation.parameter), observation.value
    after_dose = session.first_dose_at is not None and observation.observed_at > session.first_dose_at
    for finding in findings(monitoring, vital, value, baseline if after_dose else {}):
        message = finding.message if after_dose else f"Pre-dose: {finding.message}"
        _alert(actor, session, finding.kind, vital.value, message, observation)


@dataclass(frozen=True)
class IngestOutcome:
    stored: int
    already_stored: int  # retried items whose device id was stored before: never stored twice
    errors: list[ItemError]


def observations_ingest(*, actor: Actor, session: DosingSession, result: ParseResult) -> IngestOutcome:
    """Store a device's parsed batch: valid items are stored (each checked for alerts), invalid ones
    are returned; a retried item (same device id) is recognised and not stored again."""
    session = _fresh(session)
    if session.status == SessionStatus.DISCHARGED:
        raise ValidationFailed("session: the session has ended", code="session_closed")
    _, monitoring = _rules(session)
    stored = already = 0
    with transaction.atomic():
        # One writer per session at a time, so two retries of one batch cannot both store an item.
        DosingSession.objects.select_for_update().filter(pk=session.pk).first()
        ids = [item.device_id for item in result.items]
        seen = set(
            Observation.objects.filter(session=session, device_observation_id__in=ids).values_list(
                "device_observation_id", flat=True
            )
        )
        baseline = _baseline(session)
        batch = uuid.uuid4()
        new: list[Observation] = []
        for item in result.items:
            if item.device_id in seen:
                already += 1
                continue
            seen.add(item.device_id)
            new.append(
                Observation(
                    session=session,
                    parameter=item.parameter.value,
                    value=item.value,
                    unit=VITAL_UNITS[item.parameter],
                    loinc=LOINC.get(item.parameter, ""),
                    observed_at=item.at,
                    device_token_id=actor.token_id,
                    device_observation_id=item.device_id,
                    batch_id=batch,
                )
            )
        if new:
            # One INSERT and one audit entry for the batch: the entry lists every observation it
            # stored (each row carries the batch id), so each one is accounted for in the chain.
            Observation.objects.bulk_create(new)
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                record_type="dosing.observationbatch",
                record_id=batch,
                site_id=session.course.site.public_id,
                changes={
                    "observations": {
                        "old": None,
                        "new": [
                            {
                                "id": str(o.public_id),
                                "parameter": o.parameter,
                                "value": format(o.value, "f"),
                                "unit": o.unit,
                                "observed_at": o.observed_at.isoformat(),
                                "device_observation_id": o.device_observation_id,
                            }
                            for o in new
                        ],
                    }
                },
            )
            for observation in new:
                _check(actor, session, monitoring, baseline, observation)
        stored = len(new)
        if stored:
            announce(session, "observation", count=stored)
    return IngestOutcome(stored=stored, already_stored=already, errors=list(result.errors))


def alert_acknowledge(*, actor: Actor, alert: Alert, action: str, note: str = "") -> Alert:
    user = _staff(actor, alert.session, "Acknowledging an alert")
    if action not in AlertAction.values:
        raise field_error("action", f"must be one of {', '.join(AlertAction.values)}")
    if action == AlertAction.OTHER and not note.strip():
        raise field_error("note", "say what was done when the action is 'other'")
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.status != AlertStatus.OPEN:
            raise Conflict(f"This alert is already {alert.get_status_display().lower()}.")
        alert.status, alert.acknowledged_by, alert.acknowledged_at = AlertStatus.ACKNOWLEDGED, user, now()
        alert.action, alert.action_note = action, note.strip()
        alert.save()
        audit_update(
            actor=actor,
            instance=alert,
            changes={
                "status": {"old": "open", "new": "acknowledged"},
                "action": {"old": None, "new": action},
            },
            site_id=alert.session.course.site.public_id,
            reason=note.strip() or AlertAction(action).label,
        )
        announce_alert(alert, alert.session)
    return alert


def alert_resolve(*, actor: Actor, alert: Alert, note: str) -> Alert:
    user = _staff(actor, alert.session, "Resolving an alert")
    if not note.strip():
        raise field_error("note", "say how the alert was resolved")
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.status != AlertStatus.ACKNOWLEDGED:
            raise Conflict("An alert is acknowledged before it is resolved.")
        alert.status, alert.resolved_by, alert.resolved_at = AlertStatus.RESOLVED, user, now()
        alert.save()
        audit_update(
            actor=actor,
            instance=alert,
            changes={"status": {"old": "acknowledged", "new": "resolved"}},
            site_id=alert.session.course.site.public_id,
            reason=note.strip(),
        )
        announce_alert(alert, alert.session)
    return alert


def dose_administer(
    *,
    actor: Actor,
    session: DosingSession,
    kind: str,
    amount: Decimal,
    lot: str,
    administered_at: datetime,
    witness: User,
    witness_password: str,
    witness_otp_code: str = "",
    physician: User | None = None,
    physician_password: str = "",
    physician_otp_code: str = "",
) -> DoseAdministration:
    """Give a dose: checked against the protocol and the room, then witnessed by e-signature."""
    session = _fresh(session)
    administrator = _staff(actor, session, "Giving a dose")
    dosing, monitoring = _rules(session)
    if kind not in {k.value for k in rules.DoseKind}:
        raise field_error("kind", "must be initial or supplemental")
    dose_kind = rules.DoseKind(kind)
    lot = (lot or "").strip()
    if not lot:
        raise field_error("lot", "is required")
    if administered_at.tzinfo is None or administered_at > now() + timedelta(minutes=5):
        raise field_error("administered_at", "must be a time with a zone, not in the future")
    site = session.course.site
    day = today_at(site.time_zone)
    problems: dict[str, list[str]] = {}
    if dose_kind == rules.DoseKind.INITIAL:
        missing = checklist_open_items(session)
        if missing:
            problems["checklist"] = [f"not confirmed: {', '.join(missing)}"]
    therapists = [p for p in present(session) if p.role == Role.THERAPIST]
    needs_lead = monitoring.minimum_therapists > 0
    if len(therapists) < monitoring.minimum_therapists or (
        needs_lead and not any(p.is_lead for p in therapists)
    ):
        problems.setdefault("presence", []).append(
            f"{monitoring.minimum_therapists} therapists with a lead must be present; {len(therapists)} are"
        )
    for p in therapists:
        if not licence_valid_on(p.user, site, day):
            problems.setdefault("presence", []).append(f"{p.user.printed_name} has no licence valid today")
    if witness.pk == administrator.pk or witness.pk not in {p.user_id for p in present(session)}:
        problems.setdefault("witness", []).append("the witness is another person present in the room")
    if not roles_for(witness, site) & SIGNING_ROLES:
        problems.setdefault("witness", []).append("the witness must hold a role that signs")
    approved = False
    if physician is not None:
        if Role.PHYSICIAN not in roles_for(physician, site):
            problems.setdefault("physician", []).append(f"{physician.printed_name} is not a physician here")
        else:
            approved = True
    previous = (
        DosingSession.objects.filter(course=session.course, first_dose_at__isnull=False)
        .exclude(pk=session.pk)
        .order_by("-first_dose_at")
        .first()
    )
    given = [
        rules.DoseGiven(rules.DoseKind(d.kind), d.amount, d.administered_at)
        for d in DoseAdministration.objects.filter(session=session)
    ]
    for refusal in rules.check_dose(
        dosing,
        kind=dose_kind,
        amount=amount,
        at=administered_at,
        given=given,
        session_day=day,
        previous_session_day=previous.first_dose_at.astimezone(administered_at.tzinfo).date()
        if previous and previous.first_dose_at
        else None,
        latest_vitals_within_limits=latest_within_limits(session),
        physician_approved=approved,
    ):
        problems.setdefault(refusal.rule, []).append(refusal.message)
    if problems:
        first_field, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first_field}: {messages[0]}", fields=problems, code="dose_refused")
    witness_actor = user_actor(witness, ip=actor.ip)
    reauthenticate(actor=witness_actor, password=witness_password, otp_code=witness_otp_code)
    physician_actor = None
    if physician is not None and dose_kind == rules.DoseKind.SUPPLEMENTAL:
        physician_actor = user_actor(physician, ip=actor.ip)
        reauthenticate(actor=physician_actor, password=physician_password, otp_code=physician_otp_code)
    with transaction.atomic():
        dose = DoseAdministration.objects.create(
            session=session,
            kind=dose_kind.value,
            substance=dosing.substance,
            amount=amount,
            unit=dosing.unit,
            lot=lot,
            administered_at=administered_at,
            administered_by=administrator,
            witnessed_by=witness,
            approved_by=physician if physician_actor is not None else None,
        )
        audit_create(
            actor=actor,
            instance=dose,
            fields=(
                "kind",
                "substance",
                "amount",
                "unit",
                "lot",
                "administered_at",
                "administered_by",
                "witnessed_by",
            ),
            site_id=site.public_id,
        )
        signature_record(actor=witness_actor, record=dose, meaning=SignatureMeaning.WITNESSED)
        if physician_actor is not None:
            signature_record(actor=physician_actor, record=dose, meaning=SignatureMeaning.APPROVED)
        if dose_kind == rules.DoseKind.INITIAL:
            DosingSession.objects.filter(pk=session.pk).update(
                status=SessionStatus.DOSED, first_dose_at=administered_at
            )
            audit_update(
                actor=actor,
                instance=session,
                changes={
                    "status": {"old": "preparing", "new": "dosed"},
                    "first_dose_at": {"old": None, "new": administered_at},
                },
                site_id=site.public_id,
                reason="initial dose given",
            )
        announce(session, "dose", dose_kind=dose.kind)
    return dose


SETTING_FIELDS = (
    "room",
    "playlist",
    "eyeshades_offered",
    "video_recorded",
    "recording_reference",
    "recording_retain_until",
)


def setting_record(
    *,
    actor: Actor,
    session: DosingSession,
    room: Room | None,
    playlist: str,
    eyeshades_offered: bool | None,
    video_recorded: bool | None,
    recording_reference: str = "",
    recording_retain_until: date | None = None,
    reason: str = "",
) -> DosingSession:
    """Record the setting: room, music, eyeshades, and the video recording's reference and retention.

    A recording needs its storage reference and a retention date (today or later); without a
    recording neither may be given. Changing a recorded setting needs a reason.
    """
    session = _fresh(session)
    _staff(actor, session, "Recording the setting")
    site = session.course.site
    problems: dict[str, list[str]] = {}
    if room is not None and room.site_id != site.pk:
        problems["room"] = ["must be a room of this site"]
    reference = recording_reference.strip()
    if video_recorded:
        if not reference:
            problems["recording_reference"] = ["is required when the session is recorded"]
        if recording_retain_until is None:
            problems["recording_retain_until"] = ["is required when the session is recorded"]
        elif recording_retain_until < today_at(site.time_zone):
            problems["recording_retain_until"] = ["cannot be in the past"]
    elif reference or recording_retain_until is not None:
        problems["video_recorded"] = ["a recording reference or retention needs video_recorded = yes"]
    if len(playlist) > 300:
        problems["playlist"] = ["at most 300 characters"]
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems)
    new = {
        "room": room,
        "playlist": playlist.strip(),
        "eyeshades_offered": eyeshades_offered,
        "video_recorded": video_recorded,
        "recording_reference": reference,
        "recording_retain_until": recording_retain_until,
    }

    def shown(value: object) -> object:
        return str(value.public_id) if isinstance(value, Room) else value

    changes = {
        name: {"old": shown(getattr(session, name)), "new": shown(value)}
        for name, value in new.items()
        if getattr(session, name) != value
    }
    if not changes:
        return session
    recorded_before = any(getattr(session, name) not in (None, "") for name in SETTING_FIELDS)
    if recorded_before and not reason.strip():
        raise field_error("reason", "say why the recorded setting changes")
    with transaction.atomic():
        for name, value in new.items():
            setattr(session, name, value)
        session.save(update_fields=[*SETTING_FIELDS, "updated_at"])
        audit_update(
            actor=actor,
            instance=session,
            changes=changes,
            site_id=site.public_id,
            reason=reason.strip() or "setting recorded",
        )
        announce(session, "setting")
    return session
