"""Adverse events through the services: required fields, AESI, history, clocks, reports, signals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine

from haven.audit.errors import SignatureRefused
from haven.audit.models import AuditEntry, Signature
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed
from haven.core.testing import PASSWORD, Cast, actor_of, otp_code
from haven.dosing import services as dosing
from haven.dosing.models import Alert, Notification
from haven.outcomes import services as outcomes
from haven.safety import selectors, services
from haven.safety.aesi import aesi_match
from haven.safety.models import AdverseEvent, AdverseEventVersion, SaeClock, SolicitedChecklist
from haven.safety.tests.helpers import T0, dosed, mild, serious

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _later(clock: Any, minutes: int = 120) -> None:
    clock.move_to(T0 + timedelta(minutes=minutes))


# Recording ---------------------------------------------------------------------------------------
def test_an_event_is_recorded_with_the_time_since_the_dose_and_audited(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    event = services.ae_record(
        actor=actor_of(cast.alice), course=session.course, data=mild(), session=session
    )
    assert (event.status, event.serious, event.reporter, event.reporter_role) == (
        "recorded",
        False,
        cast.alice,
        "therapist",
    )
    assert event.visit == session.visit
    assert selectors.time_since_dose(event) == timedelta(minutes=50)
    assert AuditEntry.objects.filter(record_type="safety.adverseevent", action="create").count() == 1
    assert AdverseEventVersion.objects.get(event=event).number == 1
    assert not SaeClock.objects.exists()


def test_an_event_before_any_dose_has_no_time_since_dose(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    event = services.ae_record(
        actor=actor_of(cast.alice), course=session.course, data=mild(onset_at=T0 - timedelta(minutes=5))
    )
    assert selectors.time_since_dose(event) is None


def test_required_fields_depend_on_seriousness(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    alice = actor_of(cast.alice)
    with pytest.raises(ValidationFailed) as missing:
        services.ae_record(actor=alice, course=session.course, data=mild(severity="", verbatim_term=" "))
    assert set(missing.value.fields) == {"verbatim_term", "severity"}
    with pytest.raises(ValidationFailed) as unaware:
        services.ae_record(actor=alice, course=session.course, data=serious(awareness_at=None, expected=None))
    assert set(unaware.value.fields) == {"awareness_at", "expected"}
    with pytest.raises(ValidationFailed) as fatal:
        services.ae_record(actor=alice, course=session.course, data=serious(death=True, outcome="recovering"))
    assert set(fatal.value.fields) == {"death_date", "outcome"}
    with pytest.raises(ValidationFailed) as grade5:
        services.ae_record(actor=alice, course=session.course, data=mild(severity="", ctcae_grade=5))
    assert "death" in grade5.value.fields
    with pytest.raises(ValidationFailed) as future:
        services.ae_record(actor=alice, course=session.course, data=mild(onset_at=T0 + timedelta(hours=3)))
    assert "onset_at" in future.value.fields
    assert not AdverseEvent.objects.exists()


def test_a_fatal_event_with_its_date_of_death_is_recorded(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    event = services.ae_record(
        actor=actor_of(cast.priya),
        course=session.course,
        data=serious(death=True, death_date=date(2026, 11, 25), outcome="fatal", ctcae_grade=5, severity=""),
    )
    assert event.serious
    assert event.criteria() == ["death", "hospitalisation"]


def test_only_clinical_staff_record_and_a_rater_cannot(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    for person in (cast.riley, cast.sam, cast.oscar):
        with pytest.raises(PermissionDenied):
            services.ae_record(actor=actor_of(person), course=session.course, data=mild())


# AESI ------------------------------------------------------------------------------------------
def test_special_interest_is_flagged_from_the_term_ignoring_case_and_positive_effects_count() -> None:
    assert aesi_match("EUPHORIA") == ["positive_valence"]
    assert aesi_match("Feeling high, drug liking") == ["positive_valence"]
    assert aesi_match("Palpitations") == ["cardiovascular"]
    assert aesi_match("Hypertensive urgency") == ["cardiovascular"]
    assert aesi_match("Passive suicidal ideation") == ["suicidality"]
    assert aesi_match("Hyponatraemia") == ["hyponatraemia"]
    assert aesi_match("ALT increased") == ["hepatic"]
    assert aesi_match("Jaw clenching") == []


def test_special_interest_is_stored_automatically_and_by_hand(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    alice = actor_of(cast.alice)
    euphoric = services.ae_record(
        actor=alice, course=session.course, data=mild(verbatim_term="Euphoric mood")
    )
    assert euphoric.aesi_categories == ["positive_valence"]
    chosen = services.ae_record(
        actor=alice,
        course=session.course,
        data=mild(verbatim_term="Urge to repeat", aesi_manual=["abuse_related"]),
    )
    assert chosen.aesi_categories == ["abuse_related"]
    with pytest.raises(ValidationFailed):
        services.ae_record(actor=alice, course=session.course, data=mild(aesi_manual=["nonsense"]))


# History ---------------------------------------------------------------------------------------
def test_every_edit_keeps_a_version_and_needs_a_reason_and_nothing_is_deleted(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    alice = actor_of(cast.alice)
    event = services.ae_record(actor=alice, course=session.course, data=mild())
    with pytest.raises(ValidationFailed):
        services.ae_update(actor=alice, event=event, data=mild(severity="moderate"), reason=" ")
    event = services.ae_update(actor=alice, event=event, data=mild(severity="moderate"), reason="re-rated")
    assert (event.version, event.severity) == (2, "moderate")
    entry = AuditEntry.objects.get(record_type="safety.adverseevent", action="update")
    assert entry.changes == {"severity": {"old": "mild", "new": "moderate"}}
    assert entry.reason == "re-rated"
    event = services.ae_mark_error(actor=alice, event=event, reason="wrong patient")
    assert (event.status, event.error_reason, event.version) == ("entered_in_error", "wrong patient", 3)
    assert list(AdverseEventVersion.objects.filter(event=event).values_list("number", flat=True)) == [1, 2, 3]
    with pytest.raises(Conflict):
        services.ae_update(actor=alice, event=event, data=mild(), reason="again")
    assert AdverseEvent.objects.count() == 1
    assert not selectors.adverse_event_list(site=cast.site_a).exists()


def test_meddra_coding_is_the_data_managers_own_audited_step(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    event = services.ae_record(actor=actor_of(cast.alice), course=session.course, data=mild())
    coding = {
        "pt_code": "10006514",
        "pt_name": "Bruxism",
        "soc_code": "10029205",
        "soc_name": "Nervous system disorders",
    }
    with pytest.raises(PermissionDenied):
        services.ae_code(actor=actor_of(cast.alice), event=event, **coding)
    with pytest.raises(ValidationFailed):
        services.ae_code(actor=actor_of(cast.dana), event=event, **(coding | {"pt_code": "bx"}))
    event = services.ae_code(actor=actor_of(cast.dana), event=event, **coding)
    assert (event.meddra_pt_name, event.coded_by) == ("Bruxism", cast.dana)
    assert (
        AuditEntry.objects.get(action="update", record_type="safety.adverseevent").reason == "MedDRA coding"
    )


# SAE clocks ------------------------------------------------------------------------------------
def test_marking_serious_starts_the_24_hour_and_15_day_clocks_from_awareness(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    event = services.ae_record(actor=actor_of(cast.priya), course=session.course, data=serious())
    aware = T0 + timedelta(minutes=70)
    due = {c.kind: c.due_at for c in SaeClock.objects.filter(event=event)}
    assert due == {"initial": aware + timedelta(hours=24), "expedited": aware + timedelta(days=15)}


def test_a_life_threatening_unexpected_related_event_is_due_in_7_days(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    event = services.ae_record(
        actor=actor_of(cast.priya),
        course=session.course,
        data=serious(life_threatening=True, relatedness="possible"),
    )
    clock_ = SaeClock.objects.get(event=event, kind="expedited")
    assert clock_.due_at == T0 + timedelta(minutes=70) + timedelta(days=7)


def test_an_edit_to_non_serious_cancels_the_clocks(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    alice = actor_of(cast.alice)
    event = services.ae_record(actor=alice, course=session.course, data=mild())
    event = services.ae_update(actor=alice, event=event, data=serious(), reason="admitted overnight")
    assert SaeClock.objects.filter(event=event, cancelled_at__isnull=True).count() == 2
    services.ae_update(
        actor=alice, event=event, data=mild(), reason="admission was elective, not for the event"
    )
    assert SaeClock.objects.filter(event=event, cancelled_at__isnull=True).count() == 0


def test_reports_stop_their_clocks_and_follow_ups_are_numbered(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    priya = actor_of(cast.priya)
    event = services.ae_record(actor=priya, course=session.course, data=serious())
    with pytest.raises(Conflict):
        services.sae_report_submit(actor=priya, event=event, kind="follow_up", narrative="More.")
    with pytest.raises(PermissionDenied):
        services.sae_report_submit(actor=actor_of(cast.alice), event=event, kind="initial", narrative="x")
    with pytest.raises(ValidationFailed):
        services.sae_report_submit(actor=priya, event=event, kind="initial", narrative=" ")
    initial = services.sae_report_submit(
        actor=priya, event=event, kind="initial", narrative="BP 190/110 at +70 min."
    )
    assert (initial.number, initial.event_version) == (1, 1)
    assert SaeClock.objects.get(event=event, kind="initial").stopped_at == T0 + timedelta(minutes=120)
    assert SaeClock.objects.get(event=event, kind="expedited").stopped_at is None
    first = services.sae_report_submit(
        actor=priya, event=event, kind="follow_up", narrative="Discharged day 2."
    )
    second = services.sae_report_submit(actor=priya, event=event, kind="follow_up", narrative="Recovered.")
    assert (first.number, second.number) == (1, 2)
    with pytest.raises(Conflict):
        services.sae_report_submit(actor=priya, event=event, kind="initial", narrative="again")
    assert [c.kind for c in selectors.clock_queue(site=cast.site_a)] == ["expedited"]
    assert AuditEntry.objects.filter(record_type="safety.saereport", action="create").count() == 3
    stop = AuditEntry.objects.get(record_type="safety.saeclock", action="update")
    assert stop.reason == "Initial report submitted"


def test_an_overdue_clock_escalates_once_by_notification(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    event = services.ae_record(actor=actor_of(cast.alice), course=session.course, data=serious())
    assert services.safety_tick(T0 + timedelta(hours=24)).escalated == 0
    clock.move_to(T0 + timedelta(hours=26))
    result = services.safety_tick()
    assert result.escalated == 1
    told = set(
        Notification.objects.filter(about_id=str(event.public_id)).values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"priya", "alice"}
    assert services.safety_tick().escalated == 0
    due = selectors.clocks_due(site=cast.site_a, moment=T0 + timedelta(hours=26))
    assert [c.kind for c in due] == ["initial"]


def test_a_report_due_soon_is_reminded_once_before_it_is_overdue(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    event = services.ae_record(actor=actor_of(cast.alice), course=session.course, data=serious())
    assert event.awareness_at is not None
    initial_due = event.awareness_at + timedelta(hours=24)

    def reminders() -> list[str]:
        return list(
            Notification.objects.filter(about_id=str(event.public_id), subject__startswith="Due soon")
            .order_by("pk")
            .values_list("recipient__username", flat=True)
        )

    # Seven hours before the initial report's deadline: not yet (the default lead is 6 hours).
    assert services.safety_tick(initial_due - timedelta(hours=7)).reminded == 0
    result = services.safety_tick(initial_due - timedelta(hours=5))
    assert (result.reminded, result.escalated) == (1, 0)
    assert sorted(reminders()) == ["alice", "priya"]
    assert services.safety_tick(initial_due - timedelta(hours=1)).reminded == 0  # once per deadline
    reminded = AuditEntry.objects.get(record_type="safety.saeclock", reason="due soon: reminder sent")
    assert "reminded_at" in reminded.changes
    # The expedited clock (15 days here: hospitalisation, not life-threatening) is reminded 48 hours ahead.
    expedited_due = event.awareness_at + timedelta(days=15)
    assert services.safety_tick(expedited_due - timedelta(hours=49)).reminded == 0
    assert services.safety_tick(expedited_due - timedelta(hours=47)).reminded == 1
    assert len(reminders()) == 4


def test_a_submitted_report_is_not_reminded(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    event = services.ae_record(actor=actor_of(cast.alice), course=session.course, data=serious())
    assert event.awareness_at is not None
    services.sae_report_submit(actor=actor_of(cast.priya), event=event, kind="initial", narrative="Sent.")
    assert services.safety_tick(event.awareness_at + timedelta(hours=20)).reminded == 0
    assert not Notification.objects.filter(subject__startswith="Due soon").exists()


# Causality ------------------------------------------------------------------------------------
def test_the_medical_monitor_signs_a_causality_assessment_beside_the_investigators(
    cast: Cast, clock: Any
) -> None:
    session = dosed(cast)
    _later(clock)
    event = services.ae_record(actor=actor_of(cast.priya), course=session.course, data=serious())
    with pytest.raises(SignatureRefused):
        services.causality_assess(
            actor=actor_of(cast.priya),
            event=event,
            capacity="investigator",
            relatedness="probable",
            expected=False,
            comment="",
            password="wrong",
            otp_code=otp_code(cast.priya),
        )
    services.causality_assess(
        actor=actor_of(cast.priya),
        event=event,
        capacity="investigator",
        relatedness="probable",
        expected=False,
        comment="Temporal relation to the dose.",
        password=PASSWORD,
        otp_code=otp_code(cast.priya),
    )
    with pytest.raises(Conflict):
        services.causality_assess(
            actor=actor_of(cast.priya),
            event=event,
            capacity="medical_monitor",
            relatedness="possible",
            expected=False,
            comment="",
            password=PASSWORD,
            otp_code=otp_code(cast.priya),
        )
    assert Signature.objects.filter(record_type="safety.causalityassessment").count() == 1


# Signals ---------------------------------------------------------------------------------------
def test_a_session_alert_becomes_an_event_in_one_step_linked_both_ways(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock, 60)
    dosing.vitals_record(
        actor=actor_of(cast.ben),
        session=session,
        values={"systolic_bp": (166, "mm[Hg]")},
        observed_at=T0 + timedelta(minutes=60),
    )
    alert = Alert.objects.get()
    data = services.ae_prefill_from_alert(alert)
    assert (data.verbatim_term, data.onset_at) == ("Blood pressure increased", T0 + timedelta(minutes=60))
    event = services.ae_record(
        actor=actor_of(cast.ben),
        course=session.course,
        data=mild(**{"verbatim_term": data.verbatim_term, "onset_at": data.onset_at}),
        session=session,
        source_alert=alert,
    )
    assert list(alert.adverse_events.all()) == [event]
    assert event.aesi_categories == ["cardiovascular"]


def test_an_emergency_becomes_one_draft_serious_event_with_its_timeline(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock, 80)
    emergency = dosing.emergency_declare(actor=actor_of(cast.ben), session=session, description="Syncope")
    dosing.emergency_event_add(
        actor=actor_of(cast.priya),
        emergency=emergency,
        kind="intervention",
        at=T0 + timedelta(minutes=81),
        detail="Legs raised",
    )
    event = services.ae_from_emergency(actor=actor_of(cast.priya), emergency=emergency)
    again = services.ae_from_emergency(actor=actor_of(cast.priya), emergency=emergency)
    assert again == event
    assert (event.status, event.serious, event.awareness_at) == ("draft", True, T0 + timedelta(minutes=80))
    assert event.emergency_timeline[0]["detail"] == "Legs raised"
    assert SaeClock.objects.filter(event=event).count() == 2
    confirmed = services.ae_update(
        actor=actor_of(cast.priya),
        event=event,
        data=serious(
            verbatim_term="Syncope",
            onset_at=T0 + timedelta(minutes=80),
            awareness_at=T0 + timedelta(minutes=80),
            hospitalisation=False,
            other_important=True,
            relatedness="possible",
        ),
        reason="reviewed",
        confirm=True,
    )
    assert confirmed.status == "recorded"


def test_a_questionnaire_suicidality_flag_drafts_a_safety_event_for_review(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    outcomes.response_record(
        actor=actor_of(cast.alice),
        course=session.course,
        instrument="phq9",
        answers={f"phq9_{n}": 1 for n in range(1, 9)} | {"phq9_9": 2},
    )
    assert services.safety_tick().drafted == 1
    event = AdverseEvent.objects.get()
    assert (event.status, event.aesi_categories) == ("draft", ["suicidality"])
    assert event.source_safety_alert is not None
    assert services.safety_tick().drafted == 0


# Solicited effects ----------------------------------------------------------------------------
def test_a_solicited_checklist_stores_none_explicitly_and_refuses_a_blank_one(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    _later(clock)
    alice = actor_of(cast.alice)
    checklist = services.solicited_record(
        actor=alice,
        course=session.course,
        time_point="session_end",
        none_reported=True,
        answers={},
        session=session,
    )
    assert checklist.none_reported
    assert not any(checklist.answers.values())
    assert "euphoria" in checklist.answers
    with pytest.raises(ValidationFailed):
        services.solicited_record(
            actor=alice, course=session.course, time_point="day1", none_reported=False, answers={}
        )
    with pytest.raises(ValidationFailed):
        services.solicited_record(
            actor=alice, course=session.course, time_point="day99", none_reported=True, answers={}
        )
    assert SolicitedChecklist.objects.count() == 1
