"""Writes for safety: adverse events, their clocks and reports, assessments, checklists, the tick.

Every write validates first (a ``DomainError`` naming the field), then changes, then audits, inside
one transaction. Every saved state of an event is also kept as an ``AdverseEventVersion``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction

from haven.accounts.models import Role, Site, User
from haven.accounts.selectors import roles_for
from haven.accounts.signing import reauthenticate
from haven.audit.context import Actor
from haven.audit.models import SignatureMeaning
from haven.audit.services import audit_create, audit_update, diff, snapshot
from haven.audit.signatures import signature_record
from haven.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, field_error
from haven.core.time import local, now, today_at
from haven.dosing.models import Alert, DoseAdministration, DosingSession, Emergency
from haven.dosing.services import notify
from haven.outcomes.models import SafetyAlert
from haven.patients.models import EnrollmentCourse, Visit
from haven.protocols.schema import Safety, SeverityScale
from haven.protocols.selectors import protocol_of
from haven.safety import clocks
from haven.safety.aesi import CODES, aesi_match
from haven.safety.models import (
    RELATED,
    SERIOUSNESS_CRITERIA,
    ActionTaken,
    AdverseEvent,
    AdverseEventVersion,
    AeOutcome,
    AeStatus,
    Capacity,
    CausalityAssessment,
    ClockKind,
    Relatedness,
    ReportKind,
    SaeClock,
    SaeReport,
    Severity,
    SolicitedChecklist,
)
from haven.safety.roles import CODING_ROLES, MEDICAL_ROLES, RECORD_ROLES
from haven.safety.solicited import EFFECT_CODES, TIME_POINTS, day_offset

_CRITERIA = tuple(name for name, _ in SERIOUSNESS_CRITERIA)


@dataclass(frozen=True)
class AeData:
    """What a person records about an adverse event (everything but its links and coding)."""

    verbatim_term: str
    onset_at: datetime
    description: str = ""
    resolved_at: datetime | None = None
    severity: str = ""
    ctcae_grade: int | None = None
    death: bool = False
    life_threatening: bool = False
    hospitalisation: bool = False
    disability: bool = False
    congenital_anomaly: bool = False
    other_important: bool = False
    awareness_at: datetime | None = None
    death_date: date | None = None
    relatedness: str = ""
    expected: bool | None = None
    action_taken: str = ""
    outcome: str = ""
    aesi_manual: list[str] = field(default_factory=list)

    @property
    def serious(self) -> bool:
        return any(getattr(self, name) for name in _CRITERIA)


DATA_FIELDS = tuple(f.name for f in dataclasses.fields(AeData))
_AUDITED = (*DATA_FIELDS, "serious", "status", "aesi_categories")


def data_of(event: AdverseEvent) -> AeData:
    return AeData(**{name: getattr(event, name) for name in DATA_FIELDS})


def _require_role(actor: Actor, site: Site, roles: frozenset[Role], what: str) -> User:
    user = actor.user
    if user is None or not roles_for(user, site) & roles:
        raise PermissionDenied(what)
    return user


def safety_config(course: EnrollmentCourse) -> Safety:
    """The protocol's safety block, or the defaults when it has none (every shipped file today)."""
    return protocol_of(course.protocol_version).safety or clocks.DEFAULTS


def time_points_of(course: EnrollmentCourse) -> tuple[str, ...]:
    """The solicited checklist's time points: the protocol's, else Haven's defaults."""
    return safety_config(course).solicited_time_points or tuple(code for code, _ in TIME_POINTS)


def _validate(data: AeData, *, site: Site, draft: bool, scale: SeverityScale) -> None:
    problems: dict[str, list[str]] = {}
    moment = now()
    if not data.verbatim_term.strip():
        problems["verbatim_term"] = ["is required"]
    elif len(data.verbatim_term.strip()) > 300:
        problems["verbatim_term"] = ["at most 300 characters"]
    if data.onset_at.tzinfo is None:
        problems["onset_at"] = ["needs a time zone"]
    elif data.onset_at > moment:
        problems["onset_at"] = ["cannot be in the future"]
    if (
        data.resolved_at is not None
        and data.resolved_at.tzinfo is not None
        and data.onset_at.tzinfo is not None
    ):
        if data.resolved_at < data.onset_at:
            problems["resolved_at"] = ["cannot be before the onset"]
        elif data.resolved_at > moment:
            problems["resolved_at"] = ["cannot be in the future"]
    if data.severity and data.severity not in Severity.values:
        problems["severity"] = ["choose mild, moderate or severe"]
    if data.ctcae_grade is not None and not 1 <= data.ctcae_grade <= 5:
        problems["ctcae_grade"] = ["a CTCAE grade is 1 to 5"]
    if not draft and scale == SeverityScale.CTCAE and data.ctcae_grade is None:
        problems["ctcae_grade"] = ["the protocol grades adverse events by CTCAE: give the grade"]
    elif not draft and not data.severity and data.ctcae_grade is None:
        problems["severity"] = ["give the severity (or a CTCAE grade)"]
    if data.relatedness and data.relatedness not in Relatedness.values:
        problems["relatedness"] = ["is not a known relatedness"]
    if data.action_taken and data.action_taken not in ActionTaken.values:
        problems["action_taken"] = ["is not a known action"]
    if data.outcome and data.outcome not in AeOutcome.values:
        problems["outcome"] = ["is not a known outcome"]
    unknown = [c for c in data.aesi_manual if c not in CODES]
    if unknown:
        problems["aesi_manual"] = [f"unknown category {unknown[0]!r}"]
    if data.serious:
        if data.awareness_at is None:
            problems["awareness_at"] = ["a serious event needs the time the site became aware of it"]
        elif data.awareness_at.tzinfo is None:
            problems["awareness_at"] = ["needs a time zone"]
        elif data.awareness_at > moment:
            problems["awareness_at"] = ["cannot be in the future"]
        if not draft and not data.relatedness:
            problems["relatedness"] = ["a serious event needs the investigator's relatedness"]
        if not draft and data.expected is None:
            problems["expected"] = ["say whether a serious event is expected"]
    if data.death:
        if data.death_date is None:
            problems["death_date"] = ["a fatal event needs the date of death"]
        elif data.death_date > today_at(site.time_zone):
            problems["death_date"] = ["cannot be in the future"]
        if data.outcome and data.outcome != AeOutcome.FATAL:
            problems["outcome"] = ["the outcome of a fatal event is 'fatal'"]
    else:
        if data.death_date is not None:
            problems["death_date"] = ["only for an event that resulted in death"]
        if data.outcome == AeOutcome.FATAL:
            problems["death"] = ["a fatal outcome means the event resulted in death"]
        if data.ctcae_grade == 5:
            problems["death"] = ["CTCAE grade 5 is death related to the event"]
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems)


def _apply(event: AdverseEvent, data: AeData) -> None:
    for name in DATA_FIELDS:
        value = getattr(data, name)
        if isinstance(value, str):
            value = value.strip()
        setattr(event, name, value)
    event.aesi_manual = sorted(set(data.aesi_manual))
    event.serious = data.serious
    if not data.serious:
        event.awareness_at = None
    automatic = aesi_match(data.verbatim_term)
    event.aesi_categories = list(dict.fromkeys([*automatic, *event.aesi_manual]))


def _keep_version(*, actor: Actor, event: AdverseEvent, reason: str) -> None:
    AdverseEventVersion.objects.create(
        event=event, number=event.version, data=snapshot(event, _AUDITED), reason=reason, by=actor.user
    )


def _sync_clocks(*, actor: Actor, event: AdverseEvent) -> None:
    """Start, move or cancel the event's clocks to match its seriousness and classification."""
    site_id = event.course.site.public_id
    existing = {c.kind: c for c in SaeClock.objects.select_for_update().filter(event=event)}
    running = event.serious and event.status != AeStatus.ENTERED_IN_ERROR and event.awareness_at is not None
    wanted: dict[str, datetime] = {}
    config = safety_config(event.course)
    if running and event.awareness_at is not None:
        wanted[ClockKind.INITIAL] = clocks.initial_due(event.awareness_at, config)
        wanted[ClockKind.EXPEDITED] = clocks.expedited_due(
            event.awareness_at,
            fatal_or_life_threatening=event.death or event.life_threatening,
            unexpected=event.expected is not True,
            related=event.relatedness in RELATED or not event.relatedness,
            config=config,
        )
    for kind, due in wanted.items():
        clock = existing.get(kind)
        if clock is None:
            clock = SaeClock.objects.create(event=event, kind=kind, due_at=due)
            audit_create(actor=actor, instance=clock, fields=("kind", "due_at"), site_id=site_id)
        elif clock.stopped_at is None and (clock.due_at != due or clock.cancelled_at is not None):
            # A moved deadline earns its own "due soon" reminder.
            reminded = clock.reminded_at if clock.due_at == due else None
            changes = diff(
                {
                    "due_at": clock.due_at,
                    "cancelled_at": clock.cancelled_at,
                    "reminded_at": clock.reminded_at,
                },
                {"due_at": due, "cancelled_at": None, "reminded_at": reminded},
            )
            clock.due_at, clock.cancelled_at, clock.reminded_at = due, None, reminded
            clock.save()
            audit_update(
                actor=actor,
                instance=clock,
                changes=changes,
                site_id=site_id,
                reason="the event's awareness time or classification changed",
            )
    for kind, clock in existing.items():
        if kind not in wanted and clock.stopped_at is None and clock.cancelled_at is None:
            clock.cancelled_at = now()
            clock.save()
            audit_update(
                actor=actor,
                instance=clock,
                changes={"cancelled_at": {"old": None, "new": clock.cancelled_at}},
                site_id=site_id,
                reason="the event is no longer serious" if event.serious is False else "entered in error",
            )


def ae_record(
    *,
    actor: Actor,
    course: EnrollmentCourse,
    data: AeData,
    session: DosingSession | None = None,
    dose: DoseAdministration | None = None,
    visit: Visit | None = None,
    source_alert: Alert | None = None,
    source_emergency: Emergency | None = None,
    source_safety_alert: SafetyAlert | None = None,
    draft: bool = False,
) -> AdverseEvent:
    """Record an adverse event; a serious one starts its clocks."""
    site = course.site
    user = _require_role(actor, site, RECORD_ROLES, "Recording adverse events needs a clinical role.")
    _validate(data, site=site, draft=draft, scale=safety_config(course).severity_scale)
    problems: dict[str, list[str]] = {}
    if session is not None and session.course_id != course.pk:
        problems["session_id"] = ["is not a session of this course"]
    if dose is not None and dose.session.course_id != course.pk:
        problems["dose_id"] = ["is not a dose of this course"]
    if visit is not None and visit.course_id != course.pk:
        problems["visit_id"] = ["is not a visit of this course"]
    if source_alert is not None and source_alert.session.course_id != course.pk:
        problems["alert_id"] = ["is not an alert of this course"]
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems)
    roles = roles_for(user, site)
    reporter_role = next(
        (r.value for r in (Role.PHYSICIAN, Role.THERAPIST, Role.COORDINATOR) if r in roles), ""
    )
    with transaction.atomic():
        event = AdverseEvent(
            course=course,
            status=AeStatus.DRAFT if draft else AeStatus.RECORDED,
            reporter=user,
            reporter_role=reporter_role,
            session=session or (dose.session if dose is not None else None),
            dose=dose,
            visit=visit or (session.visit if session is not None else None),
            source_alert=source_alert,
            source_emergency=source_emergency,
            source_safety_alert=source_safety_alert,
        )
        if source_emergency is not None:
            event.emergency_timeline = source_emergency.signed_content()["events"]
        _apply(event, data)
        event.save()
        audit_create(
            actor=actor,
            instance=event,
            fields=(
                *_AUDITED,
                "session",
                "dose",
                "visit",
                "source_alert",
                "source_emergency",
                "source_safety_alert",
            ),
            site_id=site.public_id,
        )
        _keep_version(actor=actor, event=event, reason="recorded")
        _sync_clocks(actor=actor, event=event)
    return event


def ae_update(
    *, actor: Actor, event: AdverseEvent, data: AeData, reason: str, confirm: bool = False
) -> AdverseEvent:
    """Change what was recorded, with a reason; ``confirm`` turns a draft into a recorded event."""
    site = event.course.site
    _require_role(actor, site, RECORD_ROLES, "Editing adverse events needs a clinical role.")
    if not reason.strip():
        raise field_error("reason", "say why the event is changed")
    if event.status == AeStatus.ENTERED_IN_ERROR:
        raise Conflict("This event was entered in error and takes no more changes.")
    draft = event.status == AeStatus.DRAFT and not confirm
    _validate(data, site=site, draft=draft, scale=safety_config(event.course).severity_scale)
    with transaction.atomic():
        event = AdverseEvent.objects.select_for_update().select_related("course__site").get(pk=event.pk)
        before = snapshot(event, _AUDITED)
        _apply(event, data)
        if not draft:
            event.status = AeStatus.RECORDED
        changes = diff(before, snapshot(event, _AUDITED))
        if not changes:
            return event
        event.version += 1
        event.save()
        audit_update(actor=actor, instance=event, changes=changes, site_id=site.public_id, reason=reason)
        _keep_version(actor=actor, event=event, reason=reason.strip())
        _sync_clocks(actor=actor, event=event)
    return event


def ae_mark_error(*, actor: Actor, event: AdverseEvent, reason: str) -> AdverseEvent:
    """Nothing is deleted: the event is marked entered-in-error, and its clocks stop counting."""
    site = event.course.site
    _require_role(actor, site, RECORD_ROLES, "Editing adverse events needs a clinical role.")
    if not reason.strip():
        raise field_error("reason", "say why the event was entered in error")
    with transaction.atomic():
        event = AdverseEvent.objects.select_for_update().select_related("course__site").get(pk=event.pk)
        if event.status == AeStatus.ENTERED_IN_ERROR:
            raise Conflict("This event is already marked entered in error.")
        old = event.status
        event.status, event.error_reason = AeStatus.ENTERED_IN_ERROR, reason.strip()
        event.version += 1
        event.save()
        audit_update(
            actor=actor,
            instance=event,
            changes={"status": {"old": old, "new": event.status}},
            site_id=site.public_id,
            reason=reason,
        )
        _keep_version(actor=actor, event=event, reason=reason.strip())
        _sync_clocks(actor=actor, event=event)
    return event


def ae_code(
    *,
    actor: Actor,
    event: AdverseEvent,
    llt_code: str = "",
    llt_name: str = "",
    pt_code: str,
    pt_name: str,
    soc_code: str,
    soc_name: str,
    reason: str = "MedDRA coding",
) -> AdverseEvent:
    """The data manager's MedDRA coding (from the site's licensed dictionary), its own audited step."""
    site = event.course.site
    user = _require_role(actor, site, CODING_ROLES, "MedDRA coding is done by a data manager.")
    values = {
        "meddra_llt_code": llt_code.strip(),
        "meddra_llt_name": llt_name.strip(),
        "meddra_pt_code": pt_code.strip(),
        "meddra_pt_name": pt_name.strip(),
        "meddra_soc_code": soc_code.strip(),
        "meddra_soc_name": soc_name.strip(),
    }
    problems = {
        name.removeprefix("meddra_"): ["is required"]
        for name in ("meddra_pt_code", "meddra_pt_name", "meddra_soc_code", "meddra_soc_name")
        if not values[name]
    }
    for name in ("meddra_llt_code", "meddra_pt_code", "meddra_soc_code"):
        if values[name] and not values[name].isdigit():
            problems[name.removeprefix("meddra_")] = ["a MedDRA code is a number"]
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems)
    if event.status == AeStatus.ENTERED_IN_ERROR:
        raise Conflict("This event was entered in error and takes no more changes.")
    with transaction.atomic():
        event = AdverseEvent.objects.select_for_update().select_related("course__site").get(pk=event.pk)
        before = snapshot(event, values)
        for name, value in values.items():
            setattr(event, name, value)
        event.coded_by, event.coded_at = user, now()
        event.version += 1
        event.save()
        audit_update(
            actor=actor,
            instance=event,
            changes=diff(before, snapshot(event, values)),
            site_id=site.public_id,
            reason=reason or "MedDRA coding",
        )
        _keep_version(actor=actor, event=event, reason=reason or "MedDRA coding")
    return event


def sae_report_submit(
    *, actor: Actor, event: AdverseEvent, kind: str, narrative: str, submitted_at: datetime | None = None
) -> SaeReport:
    """Record a report sent about a serious event; an initial or expedited report stops its clock."""
    site = event.course.site
    user = _require_role(actor, site, MEDICAL_ROLES, "SAE reports are submitted by a physician.")
    if kind not in ReportKind.values:
        raise field_error("kind", "choose initial, follow_up or expedited")
    if not narrative.strip():
        raise field_error("narrative", "a report needs its narrative")
    at = submitted_at or now()
    if at > now():
        raise field_error("submitted_at", "cannot be in the future")
    if not event.serious or event.status == AeStatus.ENTERED_IN_ERROR:
        raise Conflict("Only a serious event, not entered in error, is reported.")
    with transaction.atomic():
        event = AdverseEvent.objects.select_for_update().select_related("course__site").get(pk=event.pk)
        if kind == ReportKind.FOLLOW_UP and not event.reports.filter(kind=ReportKind.INITIAL).exists():
            raise Conflict("Submit the initial report before a follow-up.")
        number = event.reports.filter(kind=kind).count() + 1
        if kind != ReportKind.FOLLOW_UP and number > 1:
            raise Conflict(
                f"The {ReportKind(kind).label.lower()} report was already submitted; send a follow-up."
            )
        report = SaeReport.objects.create(
            event=event,
            kind=kind,
            number=number,
            narrative=narrative.strip(),
            submitted_at=at,
            submitted_by=user,
            event_version=event.version,
        )
        audit_create(
            actor=actor,
            instance=report,
            fields=("kind", "number", "narrative", "submitted_at", "event_version"),
            site_id=site.public_id,
        )
        clock_kind = {ReportKind.INITIAL: ClockKind.INITIAL, ReportKind.EXPEDITED: ClockKind.EXPEDITED}.get(
            ReportKind(kind)
        )
        clock = SaeClock.objects.filter(event=event, kind=clock_kind, stopped_at__isnull=True).first()
        if clock is not None:
            clock.stopped_at = at
            clock.save()
            audit_update(
                actor=actor,
                instance=clock,
                changes={"stopped_at": {"old": None, "new": at}},
                site_id=site.public_id,
                reason=f"{ReportKind(kind).label} report submitted",
            )
    return report


def causality_assess(
    *,
    actor: Actor,
    event: AdverseEvent,
    capacity: str,
    relatedness: str,
    expected: bool | None,
    comment: str,
    password: str,
    otp_code: str = "",
) -> CausalityAssessment:
    """The investigator's or medical monitor's causality assessment, signed (meaning "reviewed")."""
    site = event.course.site
    user = _require_role(actor, site, MEDICAL_ROLES, "Causality is assessed by a physician.")
    if capacity not in Capacity.values:
        raise field_error("capacity", "choose investigator or medical_monitor")
    if relatedness not in Relatedness.values:
        raise field_error("relatedness", "choose a relatedness")
    other = Capacity.INVESTIGATOR if capacity == Capacity.MEDICAL_MONITOR else Capacity.MEDICAL_MONITOR
    if event.assessments.filter(capacity=other, assessor=user).exists():
        raise Conflict("The investigator and the medical monitor must be different people.")
    if event.status == AeStatus.ENTERED_IN_ERROR:
        raise Conflict("This event was entered in error.")
    reauthenticate(actor=actor, password=password, otp_code=otp_code)
    with transaction.atomic():
        assessment = CausalityAssessment.objects.create(
            event=event,
            capacity=capacity,
            assessor=user,
            relatedness=relatedness,
            expected=expected,
            comment=comment.strip(),
        )
        audit_create(
            actor=actor,
            instance=assessment,
            fields=("capacity", "relatedness", "expected", "comment"),
            site_id=site.public_id,
        )
        signature_record(actor=actor, record=assessment, meaning=SignatureMeaning.REVIEWED)
    return assessment


# Signals from the rest of Haven ------------------------------------------------------------------
_ALERT_TERMS = {
    "systolic_bp": "Blood pressure increased",
    "diastolic_bp": "Blood pressure increased",
    "heart_rate": "Heart rate increased",
    "temperature": "Body temperature increased",
    "spo2": "Oxygen saturation decreased",
}


def ae_prefill_from_alert(alert: Alert) -> AeData:
    """What a session alert suggests as an adverse event; staff check and complete it."""
    observation = alert.observation
    onset = observation.observed_at if observation is not None else alert.created_at
    term = _ALERT_TERMS.get(alert.parameter, "") or alert.message[:300]
    return AeData(verbatim_term=term, onset_at=onset, description=alert.message)


def ae_from_emergency(*, actor: Actor, emergency: Emergency) -> AdverseEvent:
    """A draft serious event from a session emergency (one per emergency), its timeline attached."""
    existing = AdverseEvent.objects.filter(source_emergency=emergency).first()
    if existing is not None:
        return existing
    session = emergency.session
    data = AeData(
        verbatim_term=(emergency.description or "Medical emergency during dosing session")[:300],
        description=emergency.summary,
        onset_at=emergency.declared_at,
        other_important=True,
        awareness_at=emergency.declared_at,
    )
    return ae_record(
        actor=actor, course=session.course, data=data, session=session, source_emergency=emergency, draft=True
    )


def ae_from_safety_alert(*, actor: Actor, alert: SafetyAlert) -> AdverseEvent:
    """A draft event needing review from a questionnaire's suicidality flag (one per flag)."""
    if actor.user is not None:
        _require_role(
            actor, alert.course.site, RECORD_ROLES, "Recording adverse events needs a clinical role."
        )
    existing = AdverseEvent.objects.filter(source_safety_alert=alert).first()
    if existing is not None:
        return existing
    data = AeData(
        verbatim_term="Suicidal ideation (questionnaire)",
        description=alert.message,
        onset_at=alert.created_at,
        aesi_manual=["suicidality"],
    )
    with transaction.atomic():
        event = AdverseEvent(
            course=alert.course, status=AeStatus.DRAFT, reporter=_system_reporter(actor, alert.course.site)
        )
        event.reporter_role = "system"
        event.source_safety_alert = alert
        _apply(event, data)
        event.save()
        audit_create(
            actor=actor,
            instance=event,
            fields=(*_AUDITED, "source_safety_alert"),
            site_id=alert.course.site.public_id,
        )
        _keep_version(actor=actor, event=event, reason="drafted from a questionnaire safety alert")
    return event


def _system_reporter(actor: Actor, site: Site) -> User:
    if actor.user is not None:
        return actor.user
    # The review draft names the site's first physician as reporter until a person confirms it.
    from haven.dosing.services.oncall import physicians_of

    physicians = physicians_of(site)
    if not physicians:
        raise Conflict("The site has no physician to review the safety event.")
    return physicians[0]


# Solicited effects ------------------------------------------------------------------------------
def solicited_record(
    *,
    actor: Actor,
    course: EnrollmentCourse,
    time_point: str,
    none_reported: bool,
    answers: dict[str, bool],
    session: DosingSession | None = None,
) -> SolicitedChecklist:
    """A checklist at a time point: either "none" explicitly, or an answer for every effect."""
    user = _require_role(
        actor, course.site, RECORD_ROLES, "Solicited effects are recorded by clinical staff."
    )
    return _solicited_create(
        actor=actor,
        course=course,
        time_point=time_point,
        none_reported=none_reported,
        answers=answers,
        session=session,
        by=user,
        source="staff",
    )


def _solicited_create(
    *,
    actor: Actor,
    course: EnrollmentCourse,
    time_point: str,
    none_reported: bool,
    answers: dict[str, bool],
    session: DosingSession | None,
    by: User | None,
    source: str,
) -> SolicitedChecklist:
    site = course.site
    if time_point not in time_points_of(course):
        raise field_error("time_point", "is not one of the checklist's time points")
    unknown = [code for code in answers if code not in EFFECT_CODES]
    if unknown:
        raise field_error("answers", f"unknown effect {unknown[0]!r}")
    if none_reported:
        if any(answers.values()):
            raise field_error("none_reported", "'none' cannot go with an effect marked present")
        answers = dict.fromkeys(EFFECT_CODES, False)
    else:
        missing = [code for code in EFFECT_CODES if code not in answers]
        if missing:
            raise field_error("answers", f"answer every effect (missing {missing[0]!r}) or choose 'none'")
        if not any(answers.values()):
            raise field_error("none_reported", "no effect is present: choose 'none' explicitly")
    if session is not None and session.course_id != course.pk:
        raise field_error("session_id", "is not a session of this course")
    with transaction.atomic():
        checklist = SolicitedChecklist.objects.create(
            course=course,
            time_point=time_point,
            session=session,
            none_reported=none_reported,
            answers=answers,
            by=by,
            source=source,
        )
        audit_create(
            actor=actor,
            instance=checklist,
            fields=("time_point", "session", "none_reported", "answers", "source"),
            site_id=site.public_id,
        )
    return checklist


@dataclass(frozen=True)
class SolicitedDue:
    time_point: str
    label: str
    session: DosingSession
    due_on: date

    @property
    def key(self) -> str:
        return f"{self.session.public_id}-{self.time_point}"


def solicited_due(course: EnrollmentCourse, today: date) -> list[SolicitedDue]:
    """The patient's own checklists (the "dayN" time points after each dosed session) that are due
    and not yet answered."""
    labels = dict(TIME_POINTS)
    done = set(
        SolicitedChecklist.objects.filter(course=course, session__isnull=False).values_list(
            "session_id", "time_point"
        )
    )
    due = []
    sessions = DosingSession.objects.filter(course=course, first_dose_at__isnull=False).select_related(
        "visit", "course__site"
    )
    for session in sessions.order_by("first_dose_at"):
        assert session.first_dose_at is not None
        dosed_on = local(session.first_dose_at, course.site.time_zone).date()
        for time_point in time_points_of(course):
            offset = day_offset(time_point)
            if offset is None or (session.pk, time_point) in done:
                continue
            due_on = dosed_on + timedelta(days=offset)
            if today >= due_on:
                due.append(SolicitedDue(time_point, labels.get(time_point, time_point), session, due_on))
    return due


def solicited_record_portal(
    *,
    actor: Actor,
    course: EnrollmentCourse,
    key: str,
    none_reported: bool,
    answers: dict[str, bool],
) -> SolicitedChecklist:
    """The patient's answers through the portal, for a checklist that is waiting for them. A "yes"
    to thoughts of suicide or self-harm notifies the care team at once."""
    match = next((d for d in solicited_due(course, today_at(course.site.time_zone)) if d.key == key), None)
    if match is None:
        raise NotFound("This checklist is not waiting for you.")
    with transaction.atomic():
        checklist = _solicited_create(
            actor=actor,
            course=course,
            time_point=match.time_point,
            none_reported=none_reported,
            answers=answers,
            session=match.session,
            by=None,
            source="portal",
        )
        if answers.get("suicidal_thoughts"):
            from haven.outcomes.services import care_team

            notify(
                actor=actor,
                site=course.site,
                recipients=care_team(course.site, now()),
                subject=f"Haven: {course.patient.study_id} reported thoughts of suicide or self-harm",
                body=f"In the side-effects checklist ({match.label}) through the portal. Contact the patient.",
                about=checklist,
            )
    return checklist


# The tick ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TickResult:
    escalated: int
    drafted: int
    reminded: int = 0


def _tell_about_clock(
    actor: Actor, clock: SaeClock, *, field: str, moment: datetime, subject: str, body: str, reason: str
) -> None:
    """Notify the site's physicians and the event's reporter about a clock, and mark ``field`` so
    that it happens once (audited). The caller holds the clock's row lock."""
    from haven.dosing.services.oncall import physicians_of

    event = clock.event
    site = event.course.site
    notify(
        actor=actor,
        site=site,
        recipients=[*physicians_of(site), event.reporter],
        subject=subject,
        body=body,
        about=event,
    )
    setattr(clock, field, moment)
    clock.save()
    audit_update(
        actor=actor,
        instance=clock,
        changes={field: {"old": None, "new": moment}},
        site_id=site.public_id,
        reason=reason,
    )


def _remind_due_soon(actor: Actor, moment: datetime) -> int:
    """Tell the site's physicians and the reporter, once per deadline, that an SAE report is due soon:
    within ``HAVEN_SAE_REMIND_INITIAL_HOURS`` of the initial report's deadline, or
    ``HAVEN_SAE_REMIND_EXPEDITED_HOURS`` of the expedited one's (settings; product defaults, not
    regulation)."""

    lead = {
        ClockKind.INITIAL: timedelta(hours=settings.HAVEN_SAE_REMIND_INITIAL_HOURS),
        ClockKind.EXPEDITED: timedelta(hours=settings.HAVEN_SAE_REMIND_EXPEDITED_HOURS),
    }
    reminded = 0
    soon = (
        SaeClock.objects.filter(
            due_at__gte=moment,
            due_at__lte=moment + max(lead.values()),
            stopped_at__isnull=True,
            cancelled_at__isnull=True,
            reminded_at__isnull=True,
        )
        .exclude(event__status=AeStatus.ENTERED_IN_ERROR)
        .select_related("event__course__site", "event__reporter")
    )
    for clock in soon:
        if clock.due_at - moment > lead[ClockKind(clock.kind)]:
            continue
        with transaction.atomic():
            clock = SaeClock.objects.select_for_update().get(pk=clock.pk)
            if (
                clock.reminded_at is not None
                or clock.stopped_at is not None
                or clock.cancelled_at is not None
            ):
                continue
            event, label = clock.event, ClockKind(clock.kind).label
            left = clock.due_at - moment
            _tell_about_clock(
                actor,
                clock,
                field="reminded_at",
                moment=moment,
                subject=f"Due soon: {label} for a serious adverse event",
                body=(
                    f"The {label.lower()} for serious adverse event {event.public_id} is due at "
                    f"{clock.due_at:%Y-%m-%d %H:%M} UTC, in {left.total_seconds() / 3600:.0f} h, and is not "
                    "recorded as submitted."
                ),
                reason="due soon: reminder sent",
            )
            reminded += 1
    return reminded


def safety_tick(moment: datetime | None = None) -> TickResult:
    """Remind of SAE reports due soon and escalate overdue ones (once each), and draft review events
    for questionnaire flags."""
    moment = moment or now()
    actor = Actor.system("haven monitor (safety)")
    reminded = _remind_due_soon(actor, moment)
    escalated = 0
    overdue = (
        SaeClock.objects.filter(
            due_at__lt=moment, stopped_at__isnull=True, cancelled_at__isnull=True, escalated_at__isnull=True
        )
        .exclude(event__status=AeStatus.ENTERED_IN_ERROR)
        .select_related("event__course__site", "event__reporter")
    )

    for clock in overdue:
        with transaction.atomic():
            clock = SaeClock.objects.select_for_update().get(pk=clock.pk)
            if clock.escalated_at is not None:
                continue
            label = ClockKind(clock.kind).label
            _tell_about_clock(
                actor,
                clock,
                field="escalated_at",
                moment=moment,
                subject=f"OVERDUE: {label} for a serious adverse event",
                body=(
                    f"The {label.lower()} for serious adverse event {clock.event.public_id} was due at "
                    f"{clock.due_at:%Y-%m-%d %H:%M} UTC and is not recorded as submitted."
                ),
                reason="overdue: escalated by notification",
            )
            escalated += 1
    drafted = 0
    for alert in SafetyAlert.objects.filter(adverse_events__isnull=True).select_related("course__site"):
        try:
            ae_from_safety_alert(actor=actor, alert=alert)
        except Conflict:
            continue
        drafted += 1
    return TickResult(escalated=escalated, drafted=drafted, reminded=reminded)
