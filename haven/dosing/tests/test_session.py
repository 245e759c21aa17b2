"""The dosing session through its services: checklist, presence, doses with witnesses, vitals, alerts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from haven.accounts.models import Role
from haven.audit.errors import SignatureRefused
from haven.audit.models import Signature
from haven.core.errors import PermissionDenied, ValidationFailed
from haven.core.testing import PASSWORD, Cast, actor_of, make_credential, make_enrolled_course, otp_code
from haven.dosing import services
from haven.dosing.models import Alert, DoseAdministration, DosingSession, Observation, SessionStatus
from haven.patients.models import Visit

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _session(cast: Cast) -> DosingSession:
    course = make_enrolled_course(cast, enrolled_on=date(2026, 10, 1))
    make_credential(cast.alice, cast.site_a)
    make_credential(cast.ben, cast.site_a, identifier="PSY-2")
    return services.session_open(
        actor=actor_of(cast.alice), visit=Visit.objects.get(course=course, code="dose1")
    )


def _ready(cast: Cast, session: DosingSession) -> None:
    for item in ("vitals", "pregnancy", "medications", "cssrs", "escort", "touch-consent", "equipment"):
        services.checklist_answer(actor=actor_of(cast.alice), session=session, code=item, done=True)
    services.presence_check_in(
        actor=actor_of(cast.alice), session=session, user=cast.alice, role=Role.THERAPIST, is_lead=True
    )
    services.presence_check_in(
        actor=actor_of(cast.alice), session=session, user=cast.ben, role=Role.THERAPIST
    )
    services.vitals_record(
        actor=actor_of(cast.alice),
        session=session,
        values={
            "systolic_bp": (122, "mm[Hg]"),
            "diastolic_bp": (78, "mm[Hg]"),
            "heart_rate": (70, "/min"),
            "temperature": ("98.6", "[degF]"),
        },
        observed_at=T0 - timedelta(minutes=15),
    )


def _initial(cast: Cast, session: DosingSession, amount: int = 80, **kw: object) -> DoseAdministration:
    args: dict[str, Any] = {
        "actor": actor_of(cast.alice),
        "session": session,
        "kind": "initial",
        "amount": Decimal(amount),
        "lot": "MDMA-2611-A",
        "administered_at": T0,
        "witness": cast.ben,
        "witness_password": PASSWORD,
        "witness_otp_code": otp_code(cast.ben),
    } | kw
    return services.dose_administer(**args)


def test_dosing_is_refused_until_the_checklist_and_the_team_are_complete(cast: Cast, clock: object) -> None:
    session = _session(cast)
    with pytest.raises(ValidationFailed) as refused:
        _initial(cast, session)
    assert refused.value.code == "dose_refused"
    assert refused.value.fields["checklist"] == [
        "not confirmed: vitals, pregnancy, medications, cssrs, escort, touch-consent, equipment"
    ]
    assert refused.value.fields["presence"] == ["2 therapists with a lead must be present; 0 are"]
    assert not DoseAdministration.objects.exists()


def test_the_initial_dose_is_witnessed_by_signature_and_starts_monitoring(cast: Cast, clock: object) -> None:
    session = _session(cast)
    _ready(cast, session)
    dose = _initial(cast, session)
    session.refresh_from_db()
    assert (session.status, session.first_dose_at) == (SessionStatus.DOSED, T0)
    assert (dose.amount, dose.unit, dose.administered_by, dose.witnessed_by) == (
        Decimal(80),
        "mg",
        cast.alice,
        cast.ben,
    )
    signature = Signature.objects.get(record_type="dosing.doseadministration")
    assert (signature.signer, signature.meaning) == (cast.ben, "witnessed")


def test_a_refused_witness_signature_gives_no_dose(cast: Cast, clock: object) -> None:
    session = _session(cast)
    _ready(cast, session)
    with pytest.raises(SignatureRefused):
        _initial(cast, session, witness_password="wrong")
    assert not DoseAdministration.objects.exists()


def test_the_witness_is_someone_else_in_the_room(cast: Cast, clock: object) -> None:
    session = _session(cast)
    _ready(cast, session)
    with pytest.raises(ValidationFailed) as refused:
        _initial(cast, session, witness=cast.alice, witness_otp_code=otp_code(cast.alice))
    assert refused.value.fields["witness"] == ["the witness is another person present in the room"]


def test_a_wrong_initial_amount_names_the_rule(cast: Cast, clock: object) -> None:
    session = _session(cast)
    _ready(cast, session)
    with pytest.raises(ValidationFailed) as refused:
        _initial(cast, session, amount=100)
    assert refused.value.fields == {
        "initial_amount": ["the initial dose must be one of 80 mg, 120 mg, not 100 mg"]
    }


def test_an_expired_licence_stops_the_session(cast: Cast, clock: object) -> None:
    session = _session(cast)
    _ready(cast, session)
    cast.ben.credentials.update(valid_until=date(2026, 11, 1))
    with pytest.raises(ValidationFailed) as refused:
        _initial(cast, session)
    assert refused.value.fields["presence"] == ["Ben Okafor has no licence valid today"]


def test_a_rise_from_baseline_raises_an_alert_that_is_acknowledged_then_resolved(
    cast: Cast, clock: Any
) -> None:
    session = _session(cast)
    _ready(cast, session)
    _initial(cast, session)
    clock.shift(timedelta(minutes=60))
    services.vitals_record(
        actor=actor_of(cast.ben),
        session=session,
        values={"systolic_bp": (166, "mm[Hg]")},
        observed_at=T0 + timedelta(minutes=60),
    )
    alert = Alert.objects.get()
    assert (alert.kind, alert.message) == (
        "baseline",
        "Systolic BP rose 44 mmHg from the pre-dose 122 mmHg (alert at +40 mmHg)",
    )
    with pytest.raises(ValidationFailed):
        services.alert_acknowledge(actor=actor_of(cast.ben), alert=alert, action="other")
    services.alert_acknowledge(actor=actor_of(cast.ben), alert=alert, action="remeasured")
    services.alert_resolve(
        actor=actor_of(cast.alice), alert=alert, note="Re-measured 148/90 after 15 minutes; settled."
    )
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.action, alert.resolved_by) == (
        "resolved",
        cast.ben,
        "remeasured",
        cast.alice,
    )


def test_impossible_vitals_are_refused_naming_the_parameter_and_nothing_is_stored(
    cast: Cast, clock: object
) -> None:
    session = _session(cast)
    with pytest.raises(ValidationFailed) as refused:
        services.vitals_record(
            actor=actor_of(cast.alice),
            session=session,
            values={"heart_rate": (72, "/min"), "spo2": (120, "%")},
            observed_at=T0,
        )
    assert refused.value.fields == {"spo2": ["120 % is not possible (accepted 50–100 %)"]}
    assert not Observation.objects.exists()


def test_temperatures_in_fahrenheit_are_stored_in_celsius(cast: Cast, clock: object) -> None:
    session = _session(cast)
    [observation] = services.vitals_record(
        actor=actor_of(cast.alice),
        session=session,
        values={"temperature": ("100.4", "[degF]")},
        observed_at=T0,
    )
    assert (observation.value, observation.unit, observation.loinc) == (Decimal("38.00"), "Cel", "8310-5")


def test_a_supplemental_dose_needs_a_physician_and_its_window(cast: Cast, clock: Any) -> None:
    session = _session(cast)
    _ready(cast, session)
    _initial(cast, session)
    clock.shift(timedelta(minutes=95))
    services.vitals_record(
        actor=actor_of(cast.ben),
        session=session,
        values={"systolic_bp": (140, "mm[Hg]")},
        observed_at=T0 + timedelta(minutes=94),
    )
    common: dict[str, Any] = {
        "actor": actor_of(cast.alice),
        "session": session,
        "kind": "supplemental",
        "amount": Decimal(40),
        "lot": "MDMA-2611-A",
        "administered_at": T0 + timedelta(minutes=95),
        "witness": cast.ben,
        "witness_password": PASSWORD,
    }
    with pytest.raises(ValidationFailed) as refused:
        services.dose_administer(**common, witness_otp_code=otp_code(cast.ben))
    assert list(refused.value.fields) == ["supplemental_approval"]
    dose = services.dose_administer(
        **common,
        witness_otp_code=otp_code(cast.ben),
        physician=cast.priya,
        physician_password=PASSWORD,
        physician_otp_code=otp_code(cast.priya),
    )
    assert (dose.kind, dose.amount, dose.approved_by) == ("supplemental", Decimal(40), cast.priya)
    meanings = sorted(
        Signature.objects.filter(record_id=str(dose.public_id)).values_list("meaning", flat=True)
    )
    assert meanings == ["approved", "witnessed"]


def test_too_few_therapists_after_the_dose_raises_a_staffing_alert(cast: Cast, clock: Any) -> None:
    session = _session(cast)
    _ready(cast, session)
    _initial(cast, session)
    ben = next(p for p in services.present(session) if p.user == cast.ben)
    clock.shift(timedelta(minutes=30))
    services.presence_check_out(actor=actor_of(cast.ben), presence=ben)
    alert = Alert.objects.get(kind="staffing")
    assert alert.message == "1 therapist(s) present; the protocol requires 2"


def test_only_the_session_team_works_the_session(cast: Cast, clock: object) -> None:
    course = make_enrolled_course(cast, enrolled_on=date(2026, 10, 1))
    with pytest.raises(PermissionDenied):
        services.session_open(
            actor=actor_of(cast.carmen), visit=Visit.objects.get(course=course, code="dose1")
        )
