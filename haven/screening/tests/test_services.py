"""Screening entry, re-evaluation on every change, overrides, and the gate before "eligible"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from haven.audit.errors import SignatureRefused
from haven.audit.models import AuditEntry, Signature
from haven.core.errors import PermissionDenied, ValidationFailed
from haven.core.testing import (
    PASSWORD,
    Cast,
    actor_of,
    load_shipped_protocol,
    make_eligible_screening,
    make_enrolled_course,
    make_patient,
    otp_code,
)
from haven.patients.models import CourseStatus, EnrollmentCourse
from haven.patients.services import course_open, course_transition
from haven.screening import services
from haven.screening.models import EligibilityEvaluation, ScreeningMeasurement
from haven.screening.selectors import eligibility_gate, eligibility_latest

pytestmark = pytest.mark.django_db
AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    with time_machine.travel(datetime(2026, 11, 25, 15, 0, tzinfo=UTC), tick=True):
        yield


def _screening(cast: Cast) -> EnrollmentCourse:
    course = course_open(
        actor=actor_of(cast.carmen), patient=make_patient(cast), protocol_version=load_shipped_protocol()
    )
    return course_transition(actor=actor_of(cast.carmen), course=course, to="screening")


def _criterion(course: EnrollmentCourse, code: str) -> dict[str, object]:
    latest = eligibility_latest(course)
    assert latest is not None
    return next(c for c in latest.criteria if c["code"] == code)


def test_every_change_re_evaluates_and_every_evaluation_is_kept(cast: Cast) -> None:
    course = _screening(cast)
    services.measurement_add(
        actor=actor_of(cast.carmen), course=course, field="qtc", value=478, unit="ms", measured_at=AT
    )
    services.measurement_add(
        actor=actor_of(cast.carmen),
        course=course,
        field="caps5_total",
        value=40,
        unit="{score}",
        measured_at=AT,
    )
    evaluations = list(EligibilityEvaluation.objects.filter(course=course).order_by("created_at", "pk"))
    assert [e.trigger for e in evaluations] == ["QTc 478 ms", "CAPS-5 total 40"]
    assert evaluations[-1].overall == "ineligible"  # Jordan Example is female: 478 > 470
    qtc = _criterion(course, "qtc")
    assert (qtc["status"], qtc["message"]) == ("not_met", "QTc 478 ms exceeds 470 ms (female limit).")


def test_a_complete_screening_is_eligible_and_opens_the_gate(cast: Cast) -> None:
    course = _screening(cast)
    assert eligibility_gate(course) == "no eligibility evaluation: enter the screening data first"
    make_eligible_screening(cast, course)
    latest = eligibility_latest(course)
    assert latest is not None
    assert latest.overall == "eligible"
    assert {c["status"] for c in latest.criteria} == {"met"}
    assert eligibility_gate(course) is None
    course = course_transition(actor=actor_of(cast.priya), course=course, to="eligible")
    assert course.status == CourseStatus.ELIGIBLE


def test_an_incomplete_screening_keeps_the_gate_shut(cast: Cast) -> None:
    course = _screening(cast)
    services.measurement_add(
        actor=actor_of(cast.carmen),
        course=course,
        field="caps5_total",
        value=40,
        unit="{score}",
        measured_at=AT,
    )
    with pytest.raises(ValidationFailed) as refused:
        course_transition(actor=actor_of(cast.priya), course=course, to="eligible")
    assert refused.value.code == "not_eligible"
    assert refused.value.fields == {"status": ["the latest evaluation is incomplete"]}
    assert EnrollmentCourse.objects.get(pk=course.pk).status == CourseStatus.SCREENING


def test_a_washout_under_way_opens_the_gate_on_its_last_day(cast: Cast) -> None:
    course = _screening(cast)
    make_eligible_screening(cast, course)
    services.medication_add(
        actor=actor_of(cast.carmen),
        course=course,
        name="sertraline",
        drug_class="ssri",
        start=date(2024, 1, 1),
        stop=date(2026, 11, 20),
    )
    latest = eligibility_latest(course)
    assert latest is not None
    assert (latest.overall, latest.eligible_from) == ("eligible_from", date(2026, 12, 4))
    assert eligibility_gate(course) == "eligible only from 2026-12-04"
    with time_machine.travel(datetime(2026, 12, 4, 15, 0, tzinfo=UTC)):
        assert eligibility_gate(course) is None


@pytest.mark.parametrize(
    ("field", "value", "unit", "where", "message"),
    [
        (
            "systolic_bp",
            400,
            "mm[Hg]",
            "value",
            "Systolic BP 400 mm[Hg] is outside the possible range 50–300 mm[Hg]",
        ),
        ("qtc", "0.45", "s", "unit", "QTc is recorded in ms"),
        ("heart_rate", "72.5", "/min", "value", "Heart rate is a whole number"),
        (
            "temperature",
            120,
            "[degF]",
            "value",
            "Temperature 120 [degF] is outside the possible range 30–45 Cel",
        ),
        (
            "caps5_total",
            81,
            "{score}",
            "value",
            "CAPS-5 total 81 {score} is outside the possible range 0–80 {score}",
        ),
        ("sodium", "abc", "mmol/L", "value", "must be a number"),
        ("glucose", 5, "mmol/L", "field", "must be one of"),
    ],
)
def test_impossible_values_and_wrong_units_are_refused_and_change_nothing(
    cast: Cast, field: str, value: str | int, unit: str, where: str, message: str
) -> None:
    course = _screening(cast)
    with pytest.raises(ValidationFailed) as refused:
        services.measurement_add(
            actor=actor_of(cast.carmen), course=course, field=field, value=value, unit=unit, measured_at=AT
        )
    assert list(refused.value.fields) == [where]
    assert refused.value.fields[where][0].startswith(message)
    assert not ScreeningMeasurement.objects.exists()
    assert not EligibilityEvaluation.objects.exists()


def test_fahrenheit_is_accepted_and_checked_in_celsius(cast: Cast) -> None:
    course = _screening(cast)
    entry = services.measurement_add(
        actor=actor_of(cast.carmen),
        course=course,
        field="temperature",
        value="98.6",
        unit="[degF]",
        measured_at=AT,
    )
    assert (entry.value, entry.unit) == (Decimal("98.6"), "[degF]")


def test_an_entry_in_error_stays_but_no_longer_counts(cast: Cast) -> None:
    course = _screening(cast)
    make_eligible_screening(cast, course)
    flag = services.flag_set(
        actor=actor_of(cast.carmen), course=course, name="pregnancy_test_positive", value=True
    )
    assert _criterion(course, "pregnancy")["status"] == "not_met"
    services.entry_mark_error(
        actor=actor_of(cast.carmen), entry=flag, reason="result belonged to another patient"
    )
    flag.refresh_from_db()
    assert (flag.entered_in_error, flag.error_reason) == (True, "result belonged to another patient")
    assert _criterion(course, "pregnancy")["status"] == "met"
    assert AuditEntry.objects.filter(action="update", reason="result belonged to another patient").exists()


def test_blinded_raters_enter_interview_totals_only(cast: Cast) -> None:
    course = _screening(cast)
    services.measurement_add(
        actor=actor_of(cast.riley),
        course=course,
        field="caps5_total",
        value=37,
        unit="{score}",
        measured_at=AT,
    )
    with pytest.raises(PermissionDenied):
        services.measurement_add(
            actor=actor_of(cast.riley),
            course=course,
            field="systolic_bp",
            value=120,
            unit="mm[Hg]",
            measured_at=AT,
        )


def test_screening_closes_at_enrollment(cast: Cast) -> None:
    course = make_enrolled_course(cast, enrolled_on=date(2026, 11, 20))
    with pytest.raises(ValidationFailed) as refused:
        services.measurement_add(
            actor=actor_of(cast.carmen), course=course, field="qtc", value=430, unit="ms", measured_at=AT
        )
    assert refused.value.code == "screening_closed"


# Overrides --------------------------------------------------------------------------------------
def test_a_physician_overrides_a_criterion_with_a_reason_and_signature(cast: Cast) -> None:
    course = _screening(cast)
    make_eligible_screening(cast, course)
    services.measurement_add(
        actor=actor_of(cast.carmen),
        course=course,
        field="caps5_total",
        value=26,
        unit="{score}",
        measured_at=AT,
    )
    assert eligibility_latest(course).overall == "ineligible"  # type: ignore[union-attr]
    services.eligibility_override(
        actor=actor_of(cast.priya),
        course=course,
        criterion_code="caps5-severity",
        reason="Second rater scored 31; sponsor approved",
        password=PASSWORD,
        otp_code=otp_code(cast.priya),
    )
    caps = _criterion(course, "caps5-severity")
    assert (caps["status"], caps["overridden"]) == ("met", True)
    assert str(caps["message"]).endswith(
        "Overridden by a physician: Second rater scored 31; sponsor approved"
    )
    assert eligibility_latest(course).overall == "eligible"  # type: ignore[union-attr]
    signature = Signature.objects.get(record_type="screening.eligibilityoverride")
    assert (signature.signer, signature.meaning) == (cast.priya, "approved")


def test_the_protocol_can_forbid_overriding_a_criterion(cast: Cast) -> None:
    course = _screening(cast)
    with pytest.raises(ValidationFailed) as refused:
        services.eligibility_override(
            actor=actor_of(cast.priya),
            course=course,
            criterion_code="qtc",
            reason="x",
            password=PASSWORD,
            otp_code=otp_code(cast.priya),
        )
    assert refused.value.fields == {"criterion_code": ["the protocol does not allow overriding 'qtc'"]}


def test_only_physicians_override_and_a_refused_signature_saves_nothing(cast: Cast) -> None:
    course = _screening(cast)
    with pytest.raises(PermissionDenied):
        services.eligibility_override(
            actor=actor_of(cast.carmen),
            course=course,
            criterion_code="caps5-severity",
            reason="x",
            password=PASSWORD,
        )
    with pytest.raises(SignatureRefused):
        services.eligibility_override(
            actor=actor_of(cast.priya),
            course=course,
            criterion_code="caps5-severity",
            reason="x",
            password="wrong",
            otp_code=otp_code(cast.priya),
        )
    assert not Signature.objects.exists()
    assert not EligibilityEvaluation.objects.exists()


def test_a_rater_corrects_their_own_interview_total(cast: Cast) -> None:
    course = _screening(cast)
    entry = services.measurement_add(
        actor=actor_of(cast.riley),
        course=course,
        field="caps5_total",
        value=37,
        unit="{score}",
        measured_at=AT,
    )
    services.entry_mark_error(actor=actor_of(cast.riley), entry=entry, reason="scored the wrong interview")
    entry.refresh_from_db()
    assert entry.entered_in_error


def test_measurement_times_and_reference_ranges_are_checked(cast: Cast) -> None:
    course = _screening(cast)
    with pytest.raises(ValidationFailed) as future:
        services.measurement_add(
            actor=actor_of(cast.carmen),
            course=course,
            field="qtc",
            value=430,
            unit="ms",
            measured_at=datetime(2027, 1, 1, tzinfo=UTC),
        )
    assert future.value.fields == {"measured_at": ["cannot be in the future"]}
    with pytest.raises(ValidationFailed) as reversed_range:
        services.measurement_add(
            actor=actor_of(cast.carmen),
            course=course,
            field="alt",
            value=30,
            unit="U/L",
            measured_at=AT,
            reference_low=Decimal(56),
            reference_high=Decimal(7),
        )
    assert reversed_range.value.fields == {"reference_high": ["must be at least reference_low"]}
    assert not ScreeningMeasurement.objects.exists()


def test_a_met_criterion_needs_no_override_and_none_after_enrollment(cast: Cast) -> None:
    course = _screening(cast)
    make_eligible_screening(cast, course)
    with pytest.raises(ValidationFailed, match="already met"):
        services.eligibility_override(
            actor=actor_of(cast.priya),
            course=course,
            criterion_code="caps5-severity",
            reason="x",
            password=PASSWORD,
            otp_code=otp_code(cast.priya),
        )
    enrolled = make_enrolled_course(cast, enrolled_on=date(2026, 11, 20))
    with pytest.raises(ValidationFailed) as closed:
        services.eligibility_override(
            actor=actor_of(cast.priya),
            course=enrolled,
            criterion_code="caps5-severity",
            reason="x",
            password=PASSWORD,
            otp_code=otp_code(cast.priya),
        )
    assert closed.value.code == "screening_closed"


def test_only_the_entry_roles_ask_for_a_fresh_evaluation(cast: Cast) -> None:
    course = _screening(cast)
    assert services.eligibility_request(actor=actor_of(cast.carmen), course=course).trigger == "requested"
    with pytest.raises(PermissionDenied):
        services.eligibility_request(actor=actor_of(cast.avery), course=course)
