"""Outcomes through services, pages and the API: scoring on record, safety routing, forms due,
outcome status, the patient portal (link, second factor, scope, drafts, expiry), reminders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client

from haven.audit.models import AuditEntry
from haven.core.errors import ValidationFailed
from haven.core.testing import Cast, actor_of, client_for, make_enrolled_course, make_patient
from haven.dosing.models import Notification
from haven.outcomes import scoring, services
from haven.outcomes.models import PortalLink, PortalMessage, Response, ResponseScore, SafetyAlert
from haven.outcomes.schedule import forms_for
from haven.outcomes.selectors import outcome_status
from haven.patients.models import EnrollmentCourse, Visit

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
PHQ9_ITEM9 = {f"phq9_{n}": 1 for n in range(1, 9)} | {"phq9_9": 2}
PHQ9_CALM = {f"phq9_{n}": 0 for n in range(1, 10)}


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _send(client: Client, method: str, path: str, body: object | None = None) -> Any:
    return getattr(client, method)(
        f"/api/v1{path}", data=json.dumps(body) if body is not None else None, content_type="application/json"
    )


def _course(cast: Cast, **identity: Any) -> EnrollmentCourse:
    patient = make_patient(cast, **identity) if identity else None
    return make_enrolled_course(cast, enrolled_on=date(2026, 11, 20), patient=patient)


def _caps5(total_per_item: int, *, diagnosis: bool) -> dict[str, Any]:
    codes = [f"caps5_b{n}" for n in range(1, 6)] + [f"caps5_c{n}" for n in range(1, 3)]
    codes += [f"caps5_d{n}" for n in range(1, 8)] + [f"caps5_e{n}" for n in range(1, 7)]
    answers: dict[str, Any] = dict.fromkeys(codes, total_per_item)
    answers |= {"caps5_criterion_a": True, "caps5_criterion_f": diagnosis, "caps5_criterion_g": diagnosis}
    return answers


def test_a_phq9_with_item_9_positive_raises_a_safety_alert_for_the_care_team_at_once(
    cast: Cast, clock: Any
) -> None:
    course = _course(cast)
    response = services.response_record(
        actor=actor_of(cast.alice), course=course, instrument="phq9", answers=PHQ9_ITEM9
    )
    score = ResponseScore.objects.get(response=response)
    assert score.total == 10
    assert any(f["code"] == "suicidality" for f in score.flags)
    alert = SafetyAlert.objects.get(response=response)
    assert alert.status == "open"
    told = set(
        Notification.objects.filter(about_id=str(alert.public_id)).values_list(
            "recipient__username", flat=True
        )
    )
    assert {
        cast.priya.username,
        cast.alice.username,
        cast.ben.username,
    } <= told  # on call (none: all physicians) and therapists
    assert cast.oscar.username not in told
    calm = services.response_record(
        actor=actor_of(cast.alice), course=course, instrument="phq9", answers=PHQ9_CALM
    )
    assert not SafetyAlert.objects.filter(response=calm).exists()


def test_bad_answers_name_the_item_and_store_nothing(cast: Cast, clock: Any) -> None:
    course = _course(cast)
    with pytest.raises(ValidationFailed) as refused:
        services.response_record(
            actor=actor_of(cast.alice), course=course, instrument="phq9", answers=PHQ9_CALM | {"phq9_3": 7}
        )
    assert "phq9_3" in refused.value.fields
    assert Response.objects.count() == 0
    client = client_for(cast.alice)
    api = _send(
        client,
        "post",
        f"/courses/{course.public_id}/responses",
        {"instrument": "phq9", "answers": {"phq9_1": "often"}},
    )
    assert api.status_code == 422
    assert "phq9_1" in api.json()["fields"]
    unknown = _send(
        client, "post", f"/courses/{course.public_id}/responses", {"instrument": "zung", "answers": {}}
    )
    assert unknown.json()["fields"] == {"instrument": ["unknown instrument 'zung'"]}


def test_a_new_scorer_version_is_stored_beside_the_old_score(
    cast: Cast, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = _course(cast)
    response = services.response_record(
        actor=actor_of(cast.alice), course=course, instrument="phq9", answers=PHQ9_CALM
    )
    assert (
        services.response_rescore(actor=actor_of(cast.alice), response=response) is None
    )  # same scorer: nothing new
    original = scoring.score_answers

    def newer(code: str, answers: Any, options: Any = None) -> scoring.Scored:
        scored = original(code, answers, options)
        return scoring.Scored(**{**scored.__dict__, "scorer_version": scored.scorer_version + "-next"})

    monkeypatch.setattr(scoring, "score_answers", newer)
    again = services.response_rescore(actor=actor_of(cast.alice), response=response)
    assert again is not None
    versions = list(ResponseScore.objects.filter(response=response).values_list("scorer_version", flat=True))
    assert len(versions) == 2
    assert versions[1] == versions[0] + "-next"


def test_forms_come_due_at_the_protocols_visits_and_requests_between_them(cast: Cast, clock: Any) -> None:
    course = _course(cast)
    forms = forms_for(course, date(2026, 11, 25))
    baseline = [f for f in forms if f.visit is not None and f.visit.definition_code == "baseline"]
    assert {f.instrument for f in baseline} == {"caps5_past_month", "pcl5", "cssrs_screener"}
    pcl5 = next(f for f in baseline if f.instrument == "pcl5")
    assert pcl5.patient_completes is True
    assert next(f for f in baseline if f.instrument == "caps5_past_month").patient_completes is False
    services.form_request_create(
        actor=actor_of(cast.alice), course=course, instrument="phq9", due_on=date(2026, 11, 25)
    )
    with pytest.raises(ValidationFailed) as refused:
        services.form_request_create(
            actor=actor_of(cast.alice), course=course, instrument="caps5", due_on=date(2026, 11, 25)
        )
    assert refused.value.fields == {
        "instrument": ["is completed by a clinician or rater, not by the patient"]
    }
    requested = [f for f in forms_for(course, date(2026, 11, 25)) if f.request is not None]
    assert [(f.instrument, f.status) for f in requested] == [("phq9", "due")]
    assert [(f.instrument, f.status) for f in forms_for(course, date(2026, 12, 3)) if f.request] == [
        ("phq9", "overdue")
    ]


def test_outcome_status_follows_the_protocols_definition(cast: Cast, clock: Any) -> None:
    course = _course(cast)
    visits = {v.definition_code: v for v in Visit.objects.filter(course=course)}
    rater = actor_of(cast.riley)
    services.response_record(
        actor=rater,
        course=course,
        instrument="caps5",
        answers=_caps5(2, diagnosis=True),
        visit=visits["baseline"],
        respondent="rater",
    )
    assert outcome_status(course).label == "baseline only"
    clock.move_to(T0 + timedelta(days=1))
    services.response_record(
        actor=rater,
        course=course,
        instrument="caps5",
        answers=_caps5(0, diagnosis=False),
        visit=visits["primary"],
        respondent="rater",
    )
    status = outcome_status(course)
    assert (status.baseline, status.current, status.change) == (Decimal(40), Decimal(0), Decimal(-40))
    assert (status.responder, status.lost_diagnosis, status.remission, status.label) == (
        True,
        True,
        True,
        "remission",
    )
    api = _send(client_for(cast.alice), "get", f"/courses/{course.public_id}/outcome").json()
    assert api["label"] == "remission"


def test_worsening_shows_on_the_site_list(cast: Cast, clock: Any) -> None:
    course = _course(cast)
    visits = {v.definition_code: v for v in Visit.objects.filter(course=course)}
    rater = actor_of(cast.riley)
    services.response_record(
        actor=rater,
        course=course,
        instrument="caps5",
        answers=_caps5(1, diagnosis=False),
        visit=visits["baseline"],
        respondent="rater",
    )
    clock.move_to(T0 + timedelta(days=1))
    services.response_record(
        actor=rater,
        course=course,
        instrument="caps5",
        answers=_caps5(2, diagnosis=True),
        visit=visits["fu6"],
        respondent="rater",
    )
    assert outcome_status(course).label == "worsening"
    page = (
        client_for(cast.alice).get(f"/sites/{cast.site_a.public_id}/outcomes/?worsening=1").content.decode()
    )
    assert course.patient.study_id in page


def _link(cast: Cast, course: EnrollmentCourse, **kw: Any) -> str:
    _, secret = services.portal_link_create(
        actor=actor_of(cast.carmen), course=course, channel="console", **kw
    )
    return secret


def test_the_portal_asks_the_second_factor_and_shows_only_this_patients_forms(cast: Cast, clock: Any) -> None:
    course = _course(cast)
    services.form_request_create(
        actor=actor_of(cast.alice), course=course, instrument="phq9", due_on=date(2026, 11, 25)
    )
    other = _course(cast, given_name="Riley", family_name="Other", date_of_birth=date(1990, 1, 2))
    other_request = services.form_request_create(
        actor=actor_of(cast.alice), course=other, instrument="phq9", due_on=date(2026, 11, 25)
    )
    secret = _link(cast, course)
    assert (
        PortalMessage.objects.get(course=course, kind="link").body.count(secret) == 0
    )  # the secret is never stored
    patient = Client()
    assert patient.get(f"/p/{secret}/")["Location"] == "/portal/"
    assert patient.get("/portal/")["Location"] == "/portal/verify/"
    wrong = patient.post("/portal/verify/", {"value": "1985-04-13"})
    assert wrong.status_code == 422
    assert "does not match" in wrong.content.decode()
    assert patient.post("/portal/verify/", {"value": "1985-04-12"})["Location"] == "/portal/"
    home = patient.get("/portal/").content.decode()
    assert "Patient Health Questionnaire" in home or "PHQ-9" in home
    assert "Jordan" not in home  # no identity on the portal
    # Patient X's session never reaches patient Y's form.
    assert patient.get(f"/portal/forms/phq9/r-{other_request.public_id}/").status_code == 404
    assert Client().get("/portal/").status_code == 404
    assert Client().get("/p/hvp_not-a-real-secret/").status_code == 404


def test_five_wrong_answers_revoke_the_link_and_an_expired_link_is_gone(cast: Cast, clock: Any) -> None:
    course = _course(cast)
    secret = _link(cast, course, second_factor="pin", pin="4321")
    patient = Client()
    patient.get(f"/p/{secret}/")
    for _ in range(5):
        patient.post("/portal/verify/", {"value": "0000"})
    assert PortalLink.objects.get(course=course).revoked_at is not None
    assert Client().get(f"/p/{secret}/").status_code == 404
    fresh = _link(cast, course, days=1)
    clock.move_to(T0 + timedelta(days=1, minutes=1))
    assert Client().get(f"/p/{fresh}/").status_code == 404
    assert (
        AuditEntry.objects.filter(
            record_type="outcomes.portallink", reason__contains="wrong second factor"
        ).count()
        == 5
    )


def test_a_portal_submission_with_item_9_positive_shows_crisis_text_and_alerts_the_team(
    cast: Cast, clock: Any
) -> None:
    course = _course(cast)
    request = services.form_request_create(
        actor=actor_of(cast.alice), course=course, instrument="phq9", due_on=date(2026, 11, 25)
    )
    secret = _link(cast, course, second_factor="none")
    patient = Client()
    patient.get(f"/p/{secret}/")
    url = f"/portal/forms/phq9/r-{request.public_id}/"
    saved = patient.post(url, {"action": "save", "phq9_1": "2"})
    assert "Your answers are saved" in saved.content.decode()
    assert 'value="2" checked' in patient.get(url).content.decode()
    bad = patient.post(url, {"action": "submit", "phq9_1": "9"})
    assert bad.status_code == 422
    answers = {k: str(v) for k, v in PHQ9_ITEM9.items()}
    done = patient.post(url, {"action": "submit", **answers})
    assert done["Location"] == "/portal/"
    page = patient.get("/portal/").content.decode()
    assert "Your care team has been alerted" in page
    assert "988" in page
    response = Response.objects.get(course=course, request=request)
    assert (response.source, response.entered_by) == ("portal", None)
    assert SafetyAlert.objects.filter(response=response, status="open").exists()
    entry = AuditEntry.objects.get(record_type="outcomes.response", record_id=str(response.public_id))
    assert "(patient, portal)" in entry.actor_name
    staff = client_for(cast.alice).get(f"/courses/{course.public_id}/outcomes/").content.decode()
    assert "Safety alerts" in staff


def test_reminders_go_once_a_day_for_forms_not_done(cast: Cast, clock: Any) -> None:
    course = _course(cast)
    services.form_request_create(
        actor=actor_of(cast.alice), course=course, instrument="phq9", due_on=date(2026, 11, 25)
    )
    _link(cast, course)
    first = services.reminders_send()
    assert first >= 1
    assert services.reminders_send() == 0
    clock.move_to(T0 + timedelta(days=1, minutes=1))
    assert services.reminders_send() == first


def test_the_instrument_api(cast: Cast, clock: Any) -> None:
    client = client_for(cast.alice)
    listed = _send(client, "get", "/instruments").json()
    assert {
        "pcl5",
        "phq9",
        "gad7",
        "cssrs_screener",
        "audit",
        "treatment_guess",
        "suds",
        "caps5_past_month",
        "madrs",
    } <= {i["code"] for i in listed}
    caps = next(i for i in listed if i["code"] == "caps5_past_month")
    assert all(item["text"] is None for item in caps["items"])  # licensed: no item text
    questionnaire = _send(client, "get", "/instruments/phq9/questionnaire").json()
    assert questionnaire["resourceType"] == "Questionnaire"
    scored = _send(client, "post", "/instruments/phq9/score", {"answers": PHQ9_ITEM9}).json()
    assert scored["total"] == "10" or scored["total"] == 10
    refused = _send(client, "post", "/instruments/phq9/score", {"answers": {"phq9_2": 4}})
    assert refused.status_code == 422
    assert "phq9_2" in refused.json()["fields"]
    assert _send(client, "get", "/instruments/nope/questionnaire").status_code == 404


def test_staff_enter_a_rated_form_on_the_page(cast: Cast, clock: Any) -> None:
    course = _course(cast)
    baseline = Visit.objects.get(course=course, definition_code="baseline")
    client = client_for(cast.riley)
    url = f"/courses/{course.public_id}/outcomes/forms/caps5_past_month/?form=v-{baseline.public_id}"
    page = client.get(url).content.decode()
    assert "caps5_b1" in page
    data = {
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in _caps5(2, diagnosis=True).items()
    }
    posted = client.post(url, data | {"form": f"v-{baseline.public_id}", "respondent": "rater"})
    assert posted.status_code == 302
    response = Response.objects.get(course=course, visit=baseline)
    assert response.instrument == "caps5_past_month"
    assert ResponseScore.objects.get(response=response).total == 40


def test_an_unacknowledged_safety_alert_escalates_once_and_reminders_wait_for_daytime(
    cast: Cast, clock: Any
) -> None:
    from haven.outcomes.monitor import outcomes_tick

    course = _course(cast)
    services.response_record(actor=actor_of(cast.alice), course=course, instrument="phq9", answers=PHQ9_ITEM9)
    alert = SafetyAlert.objects.get()
    clock.move_to(T0 + timedelta(minutes=10))
    assert outcomes_tick().escalated == 0
    clock.move_to(T0 + timedelta(minutes=16))
    assert outcomes_tick().escalated == 1
    alert.refresh_from_db()
    assert alert.escalated_at is not None
    loud = Notification.objects.filter(about_id=str(alert.public_id), subject__contains="UNACKNOWLEDGED")
    assert [n.recipient for n in loud] == [cast.priya]
    assert outcomes_tick().escalated == 0
    services.form_request_create(
        actor=actor_of(cast.alice), course=course, instrument="phq9", due_on=date(2026, 11, 26)
    )
    _link(cast, course)
    night = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # 02:00 in Chicago
    clock.move_to(night)
    assert outcomes_tick().reminders == 0
    clock.move_to(night + timedelta(hours=8))  # 10:00 in Chicago
    assert outcomes_tick().reminders >= 1


def test_a_schedule_by_visit_kind_puts_a_form_on_every_check_in(
    cast: Cast, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from haven.outcomes import schedule
    from haven.protocols.schema import InstrumentSchedule, VisitKind
    from haven.protocols.selectors import protocol_of

    course = _course(cast)
    shipped = protocol_of(course.protocol_version)
    daily = InstrumentSchedule(instrument="suds", visit_kinds=(VisitKind.PHONE_CHECK_IN,))
    amended = shipped.model_copy(update={"instruments": (*shipped.instruments, daily)})
    monkeypatch.setattr(schedule, "protocol_of", lambda _version: amended)
    check_ins = Visit.objects.filter(course=course, kind="phone-check-in")
    suds = [f for f in forms_for(course, date(2026, 11, 25)) if f.instrument == "suds"]
    assert len(suds) == check_ins.count() > 0
    assert {f.visit for f in suds} == set(check_ins)
    with pytest.raises(ValueError, match="give visits, visit_kinds or both"):
        InstrumentSchedule(instrument="suds")


def test_a_form_is_kept_once_per_visit_and_respondent(cast: Cast, clock: Any) -> None:
    from haven.core.errors import Conflict

    course = _course(cast)
    primary = Visit.objects.get(course=course, definition_code="primary")

    def guess(respondent: str, actor: Any) -> Response:
        return services.response_record(
            actor=actor,
            course=course,
            instrument="treatment_guess",
            respondent=respondent,
            visit=primary,
            answers={
                "treatment_guess_respondent": "participant" if respondent == "patient" else respondent,
                "treatment_guess_arm": "dont_know",
                "treatment_guess_confidence": 50,
            },
        )

    def patients_guess_done() -> bool:
        (form,) = [
            f
            for f in forms_for(course, T0.date())
            if f.instrument == "treatment_guess" and f.visit == primary
        ]
        return form.status == "completed"

    # The participant, the therapist and the rater each answer the treatment guess at one visit;
    # the staff's answers do not complete the participant's own form.
    for respondent, user in (("therapist", cast.alice), ("rater", cast.riley)):
        guess(respondent, actor_of(user))
    assert not patients_guess_done()
    guess("patient", actor_of(cast.alice))
    assert patients_guess_done()
    # … but the same respondent's form a second time is refused and stores nothing.
    with pytest.raises(Conflict, match="already completed by the therapist for this visit"):
        guess("therapist", actor_of(cast.ben))
    assert Response.objects.filter(course=course, visit=primary).count() == 3
