"""Builders shared by the safety tests: a dosed session at T0, and a complete adverse event."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from haven.accounts.models import Role
from haven.core.testing import PASSWORD, Cast, actor_of, make_credential, make_enrolled_course, otp_code
from haven.dosing import services as dosing
from haven.dosing.models import DosingSession
from haven.patients.models import Visit
from haven.safety.services import AeData

T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def dosed(cast: Cast) -> DosingSession:
    course = make_enrolled_course(cast, enrolled_on=date(2026, 10, 1))
    make_credential(cast.alice, cast.site_a)
    make_credential(cast.ben, cast.site_a, identifier="PSY-2")
    alice = actor_of(cast.alice)
    session = dosing.session_open(actor=alice, visit=Visit.objects.get(course=course, code="dose1"))
    for item in ("vitals", "pregnancy", "medications", "cssrs", "escort", "touch-consent", "equipment"):
        dosing.checklist_answer(actor=alice, session=session, code=item, done=True)
    dosing.presence_check_in(actor=alice, session=session, user=cast.alice, role=Role.THERAPIST, is_lead=True)
    dosing.presence_check_in(actor=alice, session=session, user=cast.ben, role=Role.THERAPIST)
    dosing.vitals_record(
        actor=alice,
        session=session,
        values={
            "systolic_bp": (122, "mm[Hg]"),
            "diastolic_bp": (78, "mm[Hg]"),
            "heart_rate": (70, "/min"),
            "temperature": ("36.8", "Cel"),
            "suds": (4, "{score}"),
        },
        observed_at=T0 - timedelta(minutes=15),
    )
    dosing.dose_administer(
        actor=alice,
        session=session,
        kind="initial",
        amount=Decimal(120),
        lot="MDMA-2611-A",
        administered_at=T0,
        witness=cast.ben,
        witness_password=PASSWORD,
        witness_otp_code=otp_code(cast.ben),
    )
    return DosingSession.objects.get(pk=session.pk)


def mild(**overrides: Any) -> AeData:
    values: dict[str, Any] = {
        "verbatim_term": "Jaw clenching",
        "onset_at": T0 + timedelta(minutes=50),
        "severity": "mild",
        "relatedness": "probable",
        "expected": True,
        "action_taken": "none",
        "outcome": "recovered",
    } | overrides
    return AeData(**values)


def serious(**overrides: Any) -> AeData:
    values: dict[str, Any] = {
        "verbatim_term": "Hypertensive urgency",
        "severity": "severe",
        "hospitalisation": True,
        "awareness_at": T0 + timedelta(minutes=70),
        "expected": False,
        "outcome": "recovering",
    } | overrides
    return mild(**values)
