"""Safety API: adverse events, their versions, coding, SAE reports and clocks, causality
assessments, the medical monitor's queue and solicited checklists; site-scoped. A blinded rater gets
"not found" everywhere."""

from __future__ import annotations

import uuid

from django.http import HttpRequest
from ninja import Router, Status

from haven.accounts.auth import principal_actor, principal_user, user_auth
from haven.accounts.models import User
from haven.audit.context import Actor
from haven.audit.signatures import signatures_for_many
from haven.core.schemas import ERRORS
from haven.core.time import now
from haven.dosing.selectors import access_emergency
from haven.outcomes.selectors import access_safety_alert
from haven.safety import selectors, services
from haven.safety.models import AdverseEvent, CausalityAssessment, SolicitedChecklist
from haven.safety.schemas import (
    AeCodeIn,
    AeErrorIn,
    AeFieldsIn,
    AeOut,
    AeRecordIn,
    AeUpdateIn,
    AeVersionOut,
    AssessIn,
    AssessmentOut,
    ClockOut,
    IncidenceOut,
    IncidenceRowOut,
    QueueItemOut,
    ReportIn,
    ReportOut,
    SolicitedIn,
    SolicitedOut,
    minutes,
)

router = Router(tags=["safety"])


def _user(request: HttpRequest) -> tuple[User, Actor]:
    return principal_user(request), principal_actor(request)


def _data(payload: AeFieldsIn) -> services.AeData:
    return services.AeData(**{name: getattr(payload, name) for name in services.DATA_FIELDS})


def ae_out(event: AdverseEvent) -> AeOut:
    event = selectors.access_reload(event)
    moment = now()
    assessments = list(
        CausalityAssessment.objects.filter(event=event).select_related("assessor", "event__course__site")
    )
    signed = signatures_for_many(assessments) if assessments else {}
    return AeOut(
        id=event.public_id,
        course_id=event.course.public_id,
        site_id=event.course.site.public_id,
        status=event.status,
        version=event.version,
        verbatim_term=event.verbatim_term,
        description=event.description,
        meddra_llt_code=event.meddra_llt_code,
        meddra_llt_name=event.meddra_llt_name,
        meddra_pt_code=event.meddra_pt_code,
        meddra_pt_name=event.meddra_pt_name,
        meddra_soc_code=event.meddra_soc_code,
        meddra_soc_name=event.meddra_soc_name,
        coded_by=event.coded_by.printed_name if event.coded_by else None,
        coded_at=event.coded_at,
        onset_at=event.onset_at,
        resolved_at=event.resolved_at,
        minutes_since_dose=minutes(selectors.time_since_dose(event)),
        severity=event.severity,
        ctcae_grade=event.ctcae_grade,
        serious=event.serious,
        criteria=event.criteria(),
        awareness_at=event.awareness_at,
        death_date=event.death_date,
        relatedness=event.relatedness,
        expected=event.expected,
        action_taken=event.action_taken,
        outcome=event.outcome,
        reporter=event.reporter.printed_name,
        reporter_role=event.reporter_role,
        aesi_categories=event.aesi_categories,
        aesi_manual=event.aesi_manual,
        session_id=event.session.public_id if event.session else None,
        dose_id=event.dose.public_id if event.dose else None,
        visit_id=event.visit.public_id if event.visit else None,
        source_alert_id=event.source_alert.public_id if event.source_alert else None,
        source_emergency_id=event.source_emergency.public_id if event.source_emergency else None,
        source_safety_alert_id=event.source_safety_alert.public_id if event.source_safety_alert else None,
        emergency_timeline=event.emergency_timeline,
        error_reason=event.error_reason,
        clocks=[
            ClockOut(
                kind=c.kind,
                due_at=c.due_at,
                stopped_at=c.stopped_at,
                cancelled_at=c.cancelled_at,
                escalated_at=c.escalated_at,
                overdue=c.stopped_at is None and c.cancelled_at is None and c.due_at < moment,
            )
            for c in event.clocks.all()
        ],
        reports=[
            ReportOut(
                id=r.public_id,
                kind=r.kind,
                number=r.number,
                narrative=r.narrative,
                submitted_at=r.submitted_at,
                submitted_by=r.submitted_by.printed_name,
                event_version=r.event_version,
            )
            for r in event.reports.select_related("submitted_by")
        ],
        assessments=[
            AssessmentOut(
                id=a.public_id,
                capacity=a.capacity,
                assessor=a.assessor.printed_name,
                relatedness=a.relatedness,
                expected=a.expected,
                comment=a.comment,
                assessed_at=a.created_at,
                signed=any(s.valid for s in signed.get(a.public_id, [])),
            )
            for a in assessments
        ],
    )


@router.get(
    "/sites/{site_id}/adverse-events",
    auth=user_auth,
    response={200: list[AeOut], **ERRORS},
    summary="The site's adverse events (line listing), newest onset first; entered-in-error left out",
)
def adverse_event_list(request: HttpRequest, site_id: uuid.UUID) -> list[AeOut]:
    site = selectors.access_safety_site(user=principal_user(request), site_id=site_id)
    return [ae_out(e) for e in selectors.adverse_event_list(site=site)]


@router.post(
    "/courses/{course_id}/adverse-events",
    auth=user_auth,
    response={201: AeOut, **ERRORS},
    summary="Record an adverse event (ICH E2A: any untoward medical occurrence, positive effects included)",
)
def ae_record(request: HttpRequest, course_id: uuid.UUID, payload: AeRecordIn) -> Status[AeOut]:
    user, actor = _user(request)
    course = selectors.access_safety_course(user=user, course_id=course_id)
    event = services.ae_record(
        actor=actor,
        course=course,
        data=_data(payload),
        session=selectors.course_session(course=course, session_id=payload.session_id)
        if payload.session_id
        else None,
        dose=selectors.course_dose(course=course, dose_id=payload.dose_id) if payload.dose_id else None,
        visit=selectors.course_visit(course=course, visit_id=payload.visit_id) if payload.visit_id else None,
        source_alert=selectors.course_alert(course=course, alert_id=payload.alert_id)
        if payload.alert_id
        else None,
    )
    return Status(201, ae_out(event))


@router.get(
    "/adverse-events/{event_id}", auth=user_auth, response={200: AeOut, **ERRORS}, summary="One adverse event"
)
def ae_get(request: HttpRequest, event_id: uuid.UUID) -> AeOut:
    return ae_out(selectors.access_adverse_event(user=principal_user(request), event_id=event_id))


@router.put(
    "/adverse-events/{event_id}",
    auth=user_auth,
    response={200: AeOut, **ERRORS},
    summary="Change an adverse event, with a reason (a new version); confirm turns a draft into a record",
)
def ae_update(request: HttpRequest, event_id: uuid.UUID, payload: AeUpdateIn) -> AeOut:
    user, actor = _user(request)
    event = selectors.access_adverse_event(user=user, event_id=event_id)
    return ae_out(
        services.ae_update(
            actor=actor, event=event, data=_data(payload), reason=payload.reason, confirm=payload.confirm
        )
    )


@router.post(
    "/adverse-events/{event_id}/entered-in-error",
    auth=user_auth,
    response={200: AeOut, **ERRORS},
    summary="Mark an adverse event entered in error (nothing is deleted)",
)
def ae_mark_error(request: HttpRequest, event_id: uuid.UUID, payload: AeErrorIn) -> AeOut:
    user, actor = _user(request)
    event = selectors.access_adverse_event(user=user, event_id=event_id)
    return ae_out(services.ae_mark_error(actor=actor, event=event, reason=payload.reason))


@router.post(
    "/adverse-events/{event_id}/coding",
    auth=user_auth,
    response={200: AeOut, **ERRORS},
    summary="MedDRA coding by a data manager (from the site's licensed dictionary)",
)
def ae_code(request: HttpRequest, event_id: uuid.UUID, payload: AeCodeIn) -> AeOut:
    user, actor = _user(request)
    event = selectors.access_adverse_event(user=user, event_id=event_id)
    return ae_out(services.ae_code(actor=actor, event=event, **payload.dict()))


@router.get(
    "/adverse-events/{event_id}/versions",
    auth=user_auth,
    response={200: list[AeVersionOut], **ERRORS},
    summary="Every saved version of an adverse event, with who changed it and why",
)
def ae_versions(request: HttpRequest, event_id: uuid.UUID) -> list[AeVersionOut]:
    event = selectors.access_adverse_event(user=principal_user(request), event_id=event_id)
    return [
        AeVersionOut(
            number=v.number,
            at=v.created_at,
            by=v.by.printed_name if v.by else None,
            reason=v.reason,
            data=v.data,
        )
        for v in event.versions.select_related("by")
    ]


@router.post(
    "/adverse-events/{event_id}/reports",
    auth=user_auth,
    response={201: AeOut, **ERRORS},
    summary="Record an SAE report sent (initial, follow-up or expedited); initial and expedited stop their clock",
)
def sae_report_submit(request: HttpRequest, event_id: uuid.UUID, payload: ReportIn) -> Status[AeOut]:
    user, actor = _user(request)
    event = selectors.access_adverse_event(user=user, event_id=event_id)
    services.sae_report_submit(
        actor=actor,
        event=event,
        kind=payload.kind,
        narrative=payload.narrative,
        submitted_at=payload.submitted_at,
    )
    return Status(201, ae_out(event))


@router.post(
    "/adverse-events/{event_id}/assessments",
    auth=user_auth,
    response={201: AeOut, **ERRORS},
    summary="A signed causality assessment by the investigator or the medical monitor (password and code)",
)
def causality_assess(request: HttpRequest, event_id: uuid.UUID, payload: AssessIn) -> Status[AeOut]:
    user, actor = _user(request)
    event = selectors.access_adverse_event(user=user, event_id=event_id)
    services.causality_assess(actor=actor, event=event, **payload.dict())
    return Status(201, ae_out(event))


@router.post(
    "/emergencies/{emergency_id}/adverse-event",
    auth=user_auth,
    response={201: AeOut, **ERRORS},
    summary="Draft the serious adverse event of a session emergency (one per emergency), timeline attached",
)
def ae_from_emergency(request: HttpRequest, emergency_id: uuid.UUID) -> Status[AeOut]:
    user, actor = _user(request)
    emergency = access_emergency(user=user, emergency_id=emergency_id)
    return Status(201, ae_out(services.ae_from_emergency(actor=actor, emergency=emergency)))


@router.get(
    "/sites/{site_id}/sae-queue",
    auth=user_auth,
    response={200: list[QueueItemOut], **ERRORS},
    summary="The medical monitor's queue: running SAE clocks, soonest due first, overdue marked",
)
def sae_queue(request: HttpRequest, site_id: uuid.UUID) -> list[QueueItemOut]:
    site = selectors.access_safety_site(user=principal_user(request), site_id=site_id)
    moment = now()
    return [
        QueueItemOut(
            event_id=c.event.public_id,
            verbatim_term=c.event.verbatim_term,
            kind=c.kind,
            due_at=c.due_at,
            overdue=c.due_at < moment,
            escalated_at=c.escalated_at,
        )
        for c in selectors.clock_queue(site=site)
    ]


def _solicited_out(c: SolicitedChecklist) -> SolicitedOut:
    return SolicitedOut(
        id=c.public_id,
        time_point=c.time_point,
        none_reported=c.none_reported,
        answers=c.answers,
        session_id=c.session.public_id if c.session else None,
        by=c.by.printed_name if c.by else "the patient (portal)",
        recorded_at=c.created_at,
    )


@router.post(
    "/courses/{course_id}/solicited-effects",
    auth=user_auth,
    response={201: SolicitedOut, **ERRORS},
    summary="A solicited-effects checklist at a time point; 'none' is an explicit answer",
)
def solicited_record(
    request: HttpRequest, course_id: uuid.UUID, payload: SolicitedIn
) -> Status[SolicitedOut]:
    user, actor = _user(request)
    course = selectors.access_safety_course(user=user, course_id=course_id)
    session = (
        selectors.course_session(course=course, session_id=payload.session_id) if payload.session_id else None
    )
    checklist = services.solicited_record(
        actor=actor,
        course=course,
        time_point=payload.time_point,
        none_reported=payload.none_reported,
        answers=payload.answers,
        session=session,
    )
    return Status(201, _solicited_out(checklist))


@router.get(
    "/courses/{course_id}/solicited-effects",
    auth=user_auth,
    response={200: list[SolicitedOut], **ERRORS},
    summary="The course's solicited-effects checklists, newest first",
)
def solicited_list(request: HttpRequest, course_id: uuid.UUID) -> list[SolicitedOut]:
    course = selectors.access_safety_course(user=principal_user(request), course_id=course_id)
    return [_solicited_out(c) for c in selectors.solicited_list(course=course)]


@router.post(
    "/safety-alerts/{alert_id}/adverse-event",
    auth=user_auth,
    response={201: AeOut, **ERRORS},
    summary="Draft the safety event a questionnaire's suicidality flag needs reviewed (one per flag)",
)
def ae_from_safety_alert(request: HttpRequest, alert_id: uuid.UUID) -> Status[AeOut]:
    user, actor = _user(request)
    alert = access_safety_alert(user=user, alert_id=alert_id)
    # The questionnaire's alert is readable by more roles than safety data: check both.
    selectors.access_safety_course(user=user, course_id=alert.course.public_id)
    return Status(201, ae_out(services.ae_from_safety_alert(actor=actor, alert=alert)))


@router.get(
    "/sites/{site_id}/adverse-events/incidence",
    auth=user_auth,
    response={200: IncidenceOut, **ERRORS},
    summary="Incidence of recorded adverse events by special-interest category, SOC and PT (events, patients)",
)
def adverse_event_incidence(request: HttpRequest, site_id: uuid.UUID) -> IncidenceOut:
    site = selectors.access_safety_site(user=principal_user(request), site_id=site_id)
    tables = selectors.incidence(site=site)

    def rows(name: str) -> list[IncidenceRowOut]:
        return [IncidenceRowOut(label=label, events=n, patients=p) for label, n, p in tables[name]]

    return IncidenceOut(by_category=rows("category"), by_soc=rows("soc"), by_pt=rows("pt"))
