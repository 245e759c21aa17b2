"""Which forms are due for a course: the protocol's instrument schedule over the patient's visits,
plus forms a clinician requested outside the schedule.

Derived, never stored: a visit that moves (re-planned from actual dates) moves its forms with it.
A scheduled form is *completed* when a response (not entered in error) exists for its instrument and
visit; otherwise *due* inside the visit's window, *overdue* after it, *upcoming* before it, and
*missed* when the visit was missed. A requested form is due from its date, overdue a week later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from haven.outcomes import scoring
from haven.outcomes.models import FormRequest, Respondent, Response
from haven.patients.models import EnrollmentCourse, Visit, VisitStatus
from haven.protocols.selectors import protocol_of

REQUEST_GRACE = timedelta(days=7)


@dataclass(frozen=True)
class DueForm:
    instrument: str  # the instrument's code in Haven's library
    name: str
    visit: Visit | None
    request: FormRequest | None
    status: str  # completed, due, overdue, upcoming, missed
    response: Response | None
    patient_completes: bool
    earliest: date
    latest: date

    @property
    def open(self) -> bool:
        return self.status in ("due", "overdue")

    @property
    def key(self) -> str:
        """Names the form in the portal's addresses: the visit's or the request's id."""
        if self.visit is not None:
            return f"v-{self.visit.public_id}"
        assert self.request is not None
        return f"r-{self.request.public_id}"

    @property
    def title(self) -> str:
        if self.visit is not None:
            return self.visit.name
        assert self.request is not None
        return f"Requested for {self.request.due_on:%Y-%m-%d}"


def _status(done: bool, missed: bool, today: date, earliest: date, latest: date) -> str:
    if done:
        return "completed"
    if missed:
        return "missed"
    if today > latest:
        return "overdue"
    if today >= earliest:
        return "due"
    return "upcoming"


def forms_for(course: EnrollmentCourse, today: date) -> list[DueForm]:
    protocol = protocol_of(course.protocol_version)
    visits: dict[str, list[Visit]] = {}
    for visit in Visit.objects.filter(course=course).order_by("target_date", "pk"):
        visits.setdefault(visit.definition_code, []).append(visit)
    # A visit's form is done when its respondent has answered it: the patient for the forms patients
    # complete (a therapist's or rater's treatment guess at the same visit does not answer the
    # patient's), anyone for the others.
    done: dict[tuple[str, int], Response] = {}
    by_request: dict[int, Response] = {}
    for stored in Response.objects.filter(course=course, entered_in_error=False):
        if stored.visit_id is not None and (
            stored.respondent == Respondent.PATIENT or not scoring.patient_completes(stored.instrument)
        ):
            done.setdefault((stored.instrument, stored.visit_id), stored)
        if stored.request_id is not None:
            by_request[stored.request_id] = stored
    forms: list[DueForm] = []
    seen: set[tuple[str, int]] = set()
    for entry in protocol.instruments:
        code = scoring.resolve(entry.instrument)
        if code is None:
            continue
        chosen = [v for definition in entry.visits for v in visits.get(definition, [])]
        kinds = {k.value for k in entry.visit_kinds}
        chosen += [v for group in visits.values() for v in group if v.kind in kinds and v not in chosen]
        for visit in chosen:
            if (code, visit.pk) in seen:
                continue
            seen.add((code, visit.pk))
            response = done.get((code, visit.pk))
            forms.append(
                DueForm(
                    instrument=code,
                    name=scoring.name(code),
                    visit=visit,
                    request=None,
                    status=_status(
                        response is not None,
                        visit.status == VisitStatus.MISSED,
                        today,
                        visit.window_earliest,
                        visit.window_latest,
                    ),
                    response=response,
                    patient_completes=scoring.patient_completes(code),
                    earliest=visit.window_earliest,
                    latest=visit.window_latest,
                )
            )
    for request in FormRequest.objects.filter(course=course, cancelled_at__isnull=True):
        code = scoring.resolve(request.instrument)
        if code is None:
            continue
        response = by_request.get(request.pk)
        forms.append(
            DueForm(
                instrument=code,
                name=scoring.name(code),
                visit=None,
                request=request,
                status=_status(
                    response is not None, False, today, request.due_on, request.due_on + REQUEST_GRACE
                ),
                response=response,
                patient_completes=scoring.patient_completes(code),
                earliest=request.due_on,
                latest=request.due_on + REQUEST_GRACE,
            )
        )
    return sorted(forms, key=lambda f: (f.earliest, f.instrument))


def portal_forms(course: EnrollmentCourse, today: date) -> list[DueForm]:
    """What the patient may complete through the portal now: their own due and overdue forms."""
    return [f for f in forms_for(course, today) if f.open and f.patient_completes]
