"""The session room beyond the dose: staffing gaps, setting, on-call routing, emergencies, discharge,
and the live events that reach open boards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import transaction

from haven.accounts.models import Role
from haven.audit.errors import SignatureRefused
from haven.audit.models import AuditEntry, Signature
from haven.core import events
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed
from haven.core.testing import (
    PASSWORD,
    Cast,
    actor_of,
    make_dosed_session,
    otp_code,
)
from haven.dosing import services
from haven.dosing.models import (
    Alert,
    DosingSession,
    Emergency,
    EmergencyStatus,
    Notification,
    OnCallShift,
    SessionStatus,
)
from haven.dosing.monitor import monitor_tick
from haven.patients.models import Deviation, DeviationKind, Visit, VisitStatus
from haven.scheduling.models import Room

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _dosed(cast: Cast) -> DosingSession:
    return make_dosed_session(cast, dosed_at=T0)


# Staffing gaps ------------------------------------------------------------------------------------
def test_a_therapist_leaving_after_the_dose_opens_a_deviation_that_closes_when_they_return(
    cast: Cast, clock: Any
) -> None:
    session = _dosed(cast)
    ben = next(p for p in services.present(session) if p.user == cast.ben)
    clock.move_to(T0 + timedelta(minutes=40))
    services.presence_check_out(actor=actor_of(cast.alice), presence=ben)
    deviation = Deviation.objects.get(visit=session.visit, kind=DeviationKind.STAFFING)
    assert (
        "From 2026-11-25 15:40 UTC 1 therapist(s) present; the protocol requires 2" in deviation.description
    )
    assert Alert.objects.filter(session=session, kind="staffing").count() == 1
    clock.move_to(T0 + timedelta(minutes=52))
    services.presence_check_in(
        actor=actor_of(cast.alice), session=session, user=cast.ben, role=Role.THERAPIST
    )
    deviation.refresh_from_db()
    assert deviation.description.endswith("Until 15:52 UTC (12 min).")
    assert DosingSession.objects.get(pk=session.pk).staffing_gap_since is None
    assert AuditEntry.objects.filter(record_type="patients.deviation", action="update").count() == 1


# Setting ------------------------------------------------------------------------------------------
def test_the_setting_needs_a_reference_and_retention_for_a_recording_and_a_reason_to_change(
    cast: Cast, clock: Any
) -> None:
    session = _dosed(cast)
    room = Room.objects.create(site=cast.site_a, name="Cedar suite", kind="dosing")
    alice = actor_of(cast.alice)
    with pytest.raises(ValidationFailed) as refused:
        services.setting_record(
            actor=alice,
            session=session,
            room=room,
            playlist="P-3",
            eyeshades_offered=True,
            video_recorded=True,
        )
    assert set(refused.value.fields) == {"recording_reference", "recording_retain_until"}
    assert DosingSession.objects.get(pk=session.pk).playlist == ""
    services.setting_record(
        actor=alice,
        session=session,
        room=room,
        playlist="MAPS playlist v2",
        eyeshades_offered=True,
        video_recorded=True,
        recording_reference="vault://site-a/2026/s-001",
        recording_retain_until=date(2041, 11, 25),
    )
    with pytest.raises(ValidationFailed) as refused:
        services.setting_record(
            actor=alice,
            session=session,
            room=room,
            playlist="Other",
            eyeshades_offered=True,
            video_recorded=True,
            recording_reference="vault://site-a/2026/s-001",
            recording_retain_until=date(2041, 11, 25),
        )
    assert refused.value.fields == {"reason": ["say why the recorded setting changes"]}
    other_site_room = Room.objects.create(site=cast.site_b, name="B suite", kind="dosing")
    with pytest.raises(ValidationFailed) as refused:
        services.setting_record(
            actor=alice,
            session=session,
            room=other_site_room,
            playlist="",
            eyeshades_offered=None,
            video_recorded=False,
            reason="moved",
        )
    assert refused.value.fields == {"room": ["must be a room of this site"]}
    stored = DosingSession.objects.get(pk=session.pk)
    assert (stored.room, stored.playlist, stored.recording_retain_until) == (
        room,
        "MAPS playlist v2",
        date(2041, 11, 25),
    )


# On call ------------------------------------------------------------------------------------------
def test_escalations_go_to_the_physician_on_call_and_to_every_physician_when_the_rota_is_empty(
    cast: Cast, clock: Any
) -> None:
    session = _dosed(cast)
    second = cast.alice  # a therapist is not a physician: the rota refuses them
    with pytest.raises(ValidationFailed) as refused:
        services.oncall_add(
            actor=actor_of(cast.carmen),
            site=cast.site_a,
            physician=second,
            starts_at=T0,
            ends_at=T0 + timedelta(hours=8),
        )
    assert "physician" in refused.value.fields
    with pytest.raises(PermissionDenied):
        services.oncall_add(
            actor=actor_of(cast.ben),
            site=cast.site_a,
            physician=cast.priya,
            starts_at=T0,
            ends_at=T0 + timedelta(hours=8),
        )
    assert services.on_call_physicians(cast.site_a, T0) == [cast.priya]  # empty rota: every physician
    services.oncall_add(
        actor=actor_of(cast.carmen),
        site=cast.site_a,
        physician=cast.priya,
        starts_at=T0,
        ends_at=T0 + timedelta(hours=12),
    )
    with pytest.raises(Conflict):
        services.oncall_add(
            actor=actor_of(cast.carmen),
            site=cast.site_a,
            physician=cast.priya,
            starts_at=T0 + timedelta(hours=2),
            ends_at=T0 + timedelta(hours=14),
        )
    clock.move_to(T0 + timedelta(minutes=30))
    services.vitals_record(
        actor=actor_of(cast.alice),
        session=session,
        values={"heart_rate": (150, "/min")},
        observed_at=T0 + timedelta(minutes=30),
    )
    clock.move_to(T0 + timedelta(minutes=36))
    monitor_tick()
    notified = Notification.objects.filter(alert__kind="limit")
    assert [n.recipient for n in notified] == [cast.priya]
    assert mail.outbox
    assert mail.outbox[-1].to == [cast.priya.email]
    assert OnCallShift.objects.count() == 1


# Emergencies --------------------------------------------------------------------------------------
def test_an_emergency_alerts_everyone_keeps_a_timeline_and_closes_only_with_a_physicians_signed_summary(
    cast: Cast, clock: Any
) -> None:
    session = _dosed(cast)
    clock.move_to(T0 + timedelta(minutes=70))
    emergency = services.emergency_declare(actor=actor_of(cast.ben), session=session)
    again = services.emergency_declare(actor=actor_of(cast.alice), session=session)
    assert again == emergency  # a second tap opens nothing new
    assert emergency.sae_review is True
    recipients = set(
        Notification.objects.filter(emergency=emergency).values_list("recipient__username", flat=True)
    )
    assert {
        cast.priya.username,
        cast.alice.username,
        cast.carmen.username,
        cast.morgan.username,
    } <= recipients
    assert cast.oscar.username not in recipients  # another site's staff hear nothing
    alice = actor_of(cast.alice)
    with pytest.raises(ValidationFailed) as refused:
        services.emergency_event_add(
            actor=alice,
            emergency=emergency,
            kind="transfer",
            at=T0 + timedelta(minutes=70),
            detail="By ambulance",
        )
    assert refused.value.fields == {"place": ["name the hospital the patient is transferred to"]}
    services.emergency_event_add(
        actor=alice,
        emergency=emergency,
        kind="medication",
        at=T0 + timedelta(minutes=69),
        detail="Labetalol 20 mg IV",
    )
    services.emergency_event_add(
        actor=alice,
        emergency=emergency,
        kind="ems_called",
        at=T0 + timedelta(minutes=70),
        detail="911 called",
    )
    with pytest.raises(PermissionDenied):
        services.emergency_close(actor=alice, emergency=emergency, summary="Resolved", password=PASSWORD)
    with pytest.raises(SignatureRefused):
        services.emergency_close(
            actor=actor_of(cast.priya),
            emergency=emergency,
            summary="Resolved",
            password="wrong",
            otp_code=otp_code(cast.priya),
        )
    assert Emergency.objects.get(pk=emergency.pk).status == EmergencyStatus.OPEN
    closed = services.emergency_close(
        actor=actor_of(cast.priya),
        emergency=emergency,
        summary="Hypertensive episode treated; stable; no transfer needed.",
        password=PASSWORD,
        otp_code=otp_code(cast.priya),
    )
    assert closed.status == EmergencyStatus.CLOSED
    signature = Signature.objects.get(record_id=str(emergency.public_id))
    assert (signature.meaning, signature.signer) == ("approved", cast.priya)
    with pytest.raises(Conflict):
        services.emergency_event_add(
            actor=alice, emergency=emergency, kind="note", at=T0 + timedelta(minutes=70), detail="late note"
        )
    assert [e.kind for e in closed.events.all()] == ["medication", "ems_called"]


# Discharge ----------------------------------------------------------------------------------------
def _late_vitals(cast: Cast, session: DosingSession, at: datetime, **values: Any) -> None:
    base: dict[str, Any] = {
        "systolic_bp": (126, "mm[Hg]"),
        "diastolic_bp": (80, "mm[Hg]"),
        "heart_rate": (74, "/min"),
        "temperature": ("36.9", "Cel"),
        "suds": (3, "{score}"),
    }
    services.vitals_record(actor=actor_of(cast.alice), session=session, values=base | values, observed_at=at)


def _attest(cast: Cast, session: DosingSession, who: Any) -> None:
    services.discharge_attest(
        actor=actor_of(who),
        session=session,
        alert_and_oriented=True,
        escort_present=True,
        escort_name="J. Doe (partner)",
        password=PASSWORD,
        otp_code=otp_code(who),
    )


def test_discharge_is_refused_until_every_criterion_is_met_and_both_therapists_attest(
    cast: Cast, clock: Any
) -> None:
    session = _dosed(cast)
    clock.move_to(T0 + timedelta(hours=4))
    _late_vitals(cast, session, T0 + timedelta(hours=4), suds=(6, "{score}"), systolic_bp=(150, "mm[Hg]"))
    with pytest.raises(ValidationFailed) as refused:
        _attest(cast, session, cast.alice)
    assert {"minimum_time", "near_baseline", "suds"} <= set(refused.value.fields)
    assert "SUDS 6, baseline 4" in refused.value.fields["suds"][0]
    clock.move_to(T0 + timedelta(hours=8, minutes=5))
    _late_vitals(cast, session, T0 + timedelta(hours=8, minutes=5))
    criteria = {c.code: c.met for c in services.discharge_criteria(session)}
    assert all(criteria.values()), criteria
    with pytest.raises(ValidationFailed) as refused:
        services.discharge_attest(
            actor=actor_of(cast.alice),
            session=session,
            alert_and_oriented=True,
            escort_present=False,
            password=PASSWORD,
            otp_code=otp_code(cast.alice),
        )
    assert refused.value.fields == {"escort_present": ["the protocol requires an escort to be present"]}
    _attest(cast, session, cast.alice)
    with pytest.raises(ValidationFailed) as refused:
        services.session_discharge(actor=actor_of(cast.alice), session=session, overnight_stay=True)
    assert refused.value.fields == {"attestations": ["2 therapists attest; 1 have"]}
    with pytest.raises(PermissionDenied):  # a physician who is not in the room as a therapist
        _attest(cast, session, cast.priya)
    _attest(cast, session, cast.ben)
    with pytest.raises(ValidationFailed) as refused:
        services.session_discharge(actor=actor_of(cast.alice), session=session)
    assert list(refused.value.fields) == ["overnight_stay"]  # dose1 requires an overnight stay
    discharged = services.session_discharge(actor=actor_of(cast.alice), session=session, overnight_stay=True)
    assert discharged.status == SessionStatus.DISCHARGED
    assert discharged.overnight_stay is True
    assert services.present(discharged) == []
    visit = Visit.objects.get(pk=session.visit_id)
    assert (visit.status, visit.occurred_on) == (VisitStatus.OCCURRED, date(2026, 11, 25))
    check_ins = discharged.discharge_summary["check_ins"]
    assert check_ins
    assert all(c["target_date"] >= "2026-11-25" for c in check_ins)
    assert (
        Signature.objects.filter(meaning="approved", record_type="dosing.dischargeattestation").count() == 2
    )
    with pytest.raises(ValidationFailed) as refused:
        services.session_discharge(actor=actor_of(cast.alice), session=discharged, overnight_stay=True)
    assert refused.value.fields == {"session": ["only a dosed session under monitoring is discharged"]}


def test_an_open_emergency_or_alert_holds_discharge(cast: Cast, clock: Any) -> None:
    session = _dosed(cast)
    clock.move_to(T0 + timedelta(hours=8, minutes=5))
    _late_vitals(cast, session, T0 + timedelta(hours=8, minutes=5), heart_rate=(140, "/min"))
    services.emergency_declare(actor=actor_of(cast.ben), session=session)
    criteria = {c.code: c for c in services.discharge_criteria(session)}
    assert not criteria["emergency"].met
    assert not criteria["alerts"].met
    assert not criteria["within_limits"].met
    assert "heart_rate 140" in criteria["within_limits"].detail


# Live events --------------------------------------------------------------------------------------
def test_an_event_reaches_a_subscriber_only_after_the_commit(
    cast: Cast, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    session = _dosed(cast)
    subscription = events.subscribe(cast.site_a.public_id)
    other = events.subscribe(cast.site_b.public_id)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.vitals_record(
                actor=actor_of(cast.alice),
                session=session,
                values={"heart_rate": (150, "/min")},
                observed_at=T0 + timedelta(minutes=5),
            )
        kinds = []
        while (event := subscription.get(timeout=0.1)) is not None:
            kinds.append((event.kind, event.data["session"]))
        assert ("observation", str(session.public_id)) in kinds
        assert ("alert", str(session.public_id)) in kinds
        assert other.get(timeout=0.1) is None  # another site's board hears nothing
        with pytest.raises(RuntimeError):
            _publish_then_fail(str(cast.site_a.public_id))
        assert subscription.get(timeout=0.1) is None
    finally:
        events.unsubscribe(subscription)
        events.unsubscribe(other)
    assert events.subscriber_count(cast.site_a.public_id) == 0


def _publish_then_fail(site: str) -> None:
    with transaction.atomic():
        events.publish(site, "observation", session="rolled-back")
        raise RuntimeError
