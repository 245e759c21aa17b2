"""Reads for outcomes: responses with their current scores, trajectories, outcome status, alerts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from haven.accounts.models import Site, User
from haven.core.errors import NotFound
from haven.core.ids import parse_public_id
from haven.outcomes import scoring
from haven.outcomes.models import Response, ResponseScore, SafetyAlert, SafetyAlertStatus
from haven.patients.models import EnrollmentCourse
from haven.patients.selectors import readable_sites
from haven.protocols.selectors import protocol_of

# Change worth marking on a chart, in score points, per instrument: a *reliable* change and a
# *clinically meaningful* one. [U] PCL-5 from clinical reference 5.1 (5–10 reliable, 10–20
# meaningful); CAPS-5 uses the protocol's responder threshold as meaningful; PHQ-9 and GAD-7 are
# common conventions, not verified. Sites can change them here.
CHANGE_MARKERS: dict[str, tuple[Decimal, Decimal]] = {
    "pcl5": (Decimal(5), Decimal(10)),
    "caps5_past_month": (Decimal(6), Decimal(10)),
    "phq9": (Decimal(5), Decimal(6)),
    "gad7": (Decimal(4), Decimal(5)),
    "madrs": (Decimal(6), Decimal(10)),
}
# Reference lines on the charts. [U] PCL-5 cut-point 33 (31–33 per NCPTSD); CAPS-5 remission ≤ 11
# (the shipped protocol's definition); PHQ-9 and GAD-7 ≥ 10 (moderate).
THRESHOLDS: dict[str, list[tuple[Decimal, str]]] = {
    "pcl5": [(Decimal(33), "PCL-5 cut-point 33")],
    "caps5_past_month": [(Decimal(11), "remission ≤ 11")],
    "phq9": [(Decimal(10), "moderate ≥ 10")],
    "gad7": [(Decimal(10), "moderate ≥ 10")],
}
MAXIMUM: dict[str, Decimal] = {
    "pcl5": Decimal(80),
    "caps5_past_month": Decimal(80),
    "phq9": Decimal(27),
    "gad7": Decimal(21),
    "madrs": Decimal(60),
    "audit": Decimal(40),
    "suds": Decimal(10),
}


def access_response(*, user: User, response_id: uuid.UUID | str) -> Response:
    response = (
        Response.objects.filter(public_id=parse_public_id(response_id), course__site__in=readable_sites(user))
        .select_related("course__site", "course__patient", "visit", "entered_by")
        .first()
    )
    if response is None:
        raise NotFound("Response not found.")
    return response


def access_safety_alert(*, user: User, alert_id: uuid.UUID | str) -> SafetyAlert:
    alert = (
        SafetyAlert.objects.filter(public_id=parse_public_id(alert_id), course__site__in=readable_sites(user))
        .select_related("course__site", "course__patient", "response")
        .first()
    )
    if alert is None:
        raise NotFound("Safety alert not found.")
    return alert


def current_score(response: Response) -> ResponseScore | None:
    """The newest scorer version's score (older ones stay beside it)."""
    return response.scores.order_by("-created_at", "-pk").first()


@dataclass(frozen=True)
class Point:
    at: datetime
    total: Decimal
    visit: str
    change: Decimal | None  # from the first score
    marker: str  # "", "reliable", "meaningful" (improvement) or "worse-reliable", "worse-meaningful"


@dataclass(frozen=True)
class Trajectory:
    instrument: str
    name: str
    points: list[Point]
    thresholds: list[tuple[Decimal, str]]
    maximum: Decimal


def trajectories(course: EnrollmentCourse) -> list[Trajectory]:
    by_instrument: dict[str, list[tuple[Response, ResponseScore]]] = {}
    responses = (
        Response.objects.filter(course=course, entered_in_error=False)
        .select_related("visit")
        .prefetch_related("scores")
        .order_by("completed_at", "pk")
    )
    for response in responses:
        scores = sorted(response.scores.all(), key=lambda s: (s.created_at, s.pk))
        if scores and scores[-1].total is not None:
            by_instrument.setdefault(response.instrument, []).append((response, scores[-1]))
    result = []
    for instrument, rows in sorted(by_instrument.items()):
        reliable, meaningful = CHANGE_MARKERS.get(instrument, (Decimal(0), Decimal(0)))
        first = rows[0][1].total
        assert first is not None
        points = []
        for response, score in rows:
            assert score.total is not None
            change = score.total - first
            marker = ""
            if meaningful and -change >= meaningful:
                marker = "meaningful"
            elif reliable and -change >= reliable:
                marker = "reliable"
            elif meaningful and change >= meaningful:
                marker = "worse-meaningful"
            elif reliable and change >= reliable:
                marker = "worse-reliable"
            points.append(
                Point(
                    at=response.completed_at,
                    total=score.total,
                    visit=response.visit.name if response.visit else "",
                    change=change if response is not rows[0][0] else None,
                    marker=marker,
                )
            )
        top = max([MAXIMUM.get(instrument, Decimal(0)), *(p.total for p in points)])
        result.append(
            Trajectory(
                instrument=instrument,
                name=scoring.name(instrument) if scoring.resolve(instrument) else instrument,
                points=points,
                thresholds=THRESHOLDS.get(instrument, []),
                maximum=top or Decimal(1),
            )
        )
    return result


@dataclass(frozen=True)
class OutcomeStatus:
    instrument: str | None
    baseline: Decimal | None = None
    current: Decimal | None = None
    at_endpoint: bool = False
    change: Decimal | None = None
    responder: bool | None = None
    lost_diagnosis: bool | None = None
    remission: bool | None = None
    worsening: bool = False
    label: str = "no primary instrument"
    notes: list[str] = field(default_factory=list)


def _scored(
    course: EnrollmentCourse, instrument: str, visit_code: str | None
) -> list[tuple[Response, ResponseScore]]:
    responses = Response.objects.filter(course=course, instrument=instrument, entered_in_error=False)
    if visit_code is not None:
        responses = responses.filter(visit__definition_code=visit_code)
    rows = []
    for response in responses.select_related("visit").order_by("completed_at", "pk"):
        score = current_score(response)
        if score is not None and score.total is not None:
            rows.append((response, score))
    return rows


def outcome_status(course: EnrollmentCourse) -> OutcomeStatus:
    """The protocol's outcome definition applied to the primary instrument: responder (e.g. CAPS-5
    drop ≥ 10), loss of diagnosis, remission (loss of diagnosis and CAPS-5 ≤ 11), non-responder.
    Before the endpoint visit the latest score gives an interim status."""
    protocol = protocol_of(course.protocol_version)
    definition = protocol.outcomes
    if definition is None:
        return OutcomeStatus(instrument=None)
    instrument = scoring.resolve(definition.primary_instrument) or definition.primary_instrument
    baseline_rows = _scored(course, instrument, definition.baseline_visit)
    if not baseline_rows:
        return OutcomeStatus(instrument=instrument, label="no baseline score")
    baseline_response, baseline_score = baseline_rows[0]
    endpoint_rows = _scored(course, instrument, definition.endpoint_visit)
    later = [
        r for r in _scored(course, instrument, None) if r[0].completed_at > baseline_response.completed_at
    ]
    if endpoint_rows:
        current_response, current = endpoint_rows[-1]
        at_endpoint = True
    elif later:
        current_response, current = later[-1]
        at_endpoint = False
    else:
        return OutcomeStatus(instrument=instrument, baseline=baseline_score.total, label="baseline only")
    assert baseline_score.total is not None
    assert current.total is not None
    change = current.total - baseline_score.total
    rule = definition.responder
    if rule.decrease_at_least is not None:
        responder = -change >= rule.decrease_at_least
        worsening = change >= rule.decrease_at_least
    else:
        assert rule.decrease_percent_at_least is not None
        percent = (-change * 100 / baseline_score.total) if baseline_score.total else Decimal(0)
        responder = percent >= rule.decrease_percent_at_least
        worsening = -percent >= rule.decrease_percent_at_least
    lost: bool | None = None
    if definition.loss_of_diagnosis:
        before, after = baseline_score.detail.get("diagnosis"), current.detail.get("diagnosis")
        lost = before is True and after is False if before is not None and after is not None else None
    remission: bool | None = None
    if definition.remission is not None:
        remission = current.total <= definition.remission.total_at_most
        if definition.remission.requires_loss_of_diagnosis:
            remission = bool(remission and lost)
    if remission:
        label = "remission"
    elif lost:
        label = "loss of diagnosis"
    elif responder:
        label = "responder"
    elif worsening:
        label = "worsening"
    else:
        label = "non-responder"
    notes = (
        []
        if at_endpoint
        else [f"interim: latest score ({current_response.completed_at:%Y-%m-%d}), not the endpoint"]
    )
    if definition.loss_of_diagnosis and lost is None:
        notes.append("diagnosis not determinable at baseline or now")
    return OutcomeStatus(
        instrument=instrument,
        baseline=baseline_score.total,
        current=current.total,
        at_endpoint=at_endpoint,
        change=change,
        responder=responder,
        lost_diagnosis=lost,
        remission=remission,
        worsening=worsening,
        label=label,
        notes=notes,
    )


def site_outcomes(
    site: Site, *, worsening_only: bool = False
) -> list[tuple[EnrollmentCourse, OutcomeStatus]]:
    courses = EnrollmentCourse.objects.filter(site=site, enrolled_on__isnull=False).select_related(
        "patient", "protocol_version", "site"
    )
    rows = [(course, outcome_status(course)) for course in courses.order_by("patient__study_id")]
    if worsening_only:
        rows = [(c, s) for c, s in rows if s.worsening]
    return rows


def open_safety_alerts(site: Site) -> list[SafetyAlert]:
    return list(
        SafetyAlert.objects.filter(course__site=site)
        .exclude(status=SafetyAlertStatus.RESOLVED)
        .select_related("course__patient", "response")
        .order_by("-created_at")
    )
