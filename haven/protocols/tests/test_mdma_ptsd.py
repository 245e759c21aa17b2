"""The shipped MDMA-AT protocol: its rules and its exact schedule from a fixed enrollment date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from haven.protocols.loader import SHIPPED_DIR, load_protocol
from haven.protocols.plan import plan_schedule

PROTOCOL = load_protocol(SHIPPED_DIR / "mdma-ptsd.yaml")
ENROLLED = date(2026, 1, 5)  # a Monday


def _d(text: str) -> date:
    return date.fromisoformat(text)


def test_mapp_design_counts() -> None:
    kinds = [str(v.kind) for v in plan_schedule(PROTOCOL, enrollment=ENROLLED)]
    assert kinds.count("preparation") == 3
    assert kinds.count("dosing") == 3
    assert kinds.count("integration") == 9
    assert kinds.count("phone-check-in") == 21
    assert all(PROTOCOL.visit(f"dose{n}").overnight for n in (1, 2, 3))


def test_dosing_rules_follow_mapp() -> None:
    dosing = PROTOCOL.dosing
    assert dosing is not None
    assert dosing.supplemental is not None
    assert dosing.initial_doses == (Decimal(80), Decimal(120))
    assert dosing.supplemental.fraction == Decimal("0.5")
    assert (dosing.supplemental.after_minutes_from, dosing.supplemental.after_minutes_to) == (90, 120)
    assert dosing.max_per_session == Decimal(180)


def test_outcomes_follow_mapp() -> None:
    outcomes = PROTOCOL.outcomes
    assert outcomes is not None
    assert outcomes.remission is not None
    assert (outcomes.primary_instrument, outcomes.baseline_visit, outcomes.endpoint_visit) == (
        "caps5",
        "baseline",
        "primary",
    )
    assert outcomes.responder.decrease_at_least == Decimal(10)
    assert outcomes.remission.total_at_most == Decimal(11)
    assert outcomes.remission.requires_loss_of_diagnosis


def test_the_schedule_from_a_fixed_enrollment_date() -> None:
    # Worked by hand from the file: each visit is its anchor's date plus its days; windows around it.
    expected = {
        "baseline": ("2026-01-05", "2026-01-05", "2026-01-12"),
        "prep1": ("2026-01-12", "2026-01-09", "2026-01-19"),
        "prep2": ("2026-01-19", "2026-01-17", "2026-01-26"),
        "prep3": ("2026-01-26", "2026-01-24", "2026-02-02"),
        "dose1": ("2026-02-02", "2026-01-30", "2026-02-16"),
        "int1a": ("2026-02-03", "2026-02-03", "2026-02-03"),
        "call1-1": ("2026-02-03", "2026-02-03", "2026-02-03"),
        "call1-7": ("2026-02-09", "2026-02-09", "2026-02-09"),
        "int1b": ("2026-02-09", "2026-02-07", "2026-02-12"),
        "int1c": ("2026-02-23", "2026-02-20", "2026-02-26"),
        "dose2": ("2026-03-02", "2026-02-23", "2026-03-09"),
        "int2a": ("2026-03-03", "2026-03-03", "2026-03-03"),
        "dose3": ("2026-03-30", "2026-03-23", "2026-04-06"),
        "int3c": ("2026-04-20", "2026-04-17", "2026-04-23"),
        "primary": ("2026-05-25", "2026-05-18", "2026-06-08"),
        "fu6": ("2026-09-28", "2026-08-29", "2026-10-28"),
        "fu12": ("2027-03-30", "2027-02-28", "2027-04-29"),
    }
    planned = {v.code: v for v in plan_schedule(PROTOCOL, enrollment=ENROLLED)}
    assert len(planned) == 40
    for code, (target, earliest, latest) in expected.items():
        visit = planned[code]
        assert (visit.target, visit.earliest, visit.latest) == (_d(target), _d(earliest), _d(latest)), code


def test_the_schedule_is_in_date_order() -> None:
    targets = [v.target for v in plan_schedule(PROTOCOL, enrollment=ENROLLED)]
    assert targets == sorted(targets)


def test_a_late_dosing_session_replans_what_depends_on_it_only() -> None:
    before = {v.code: v for v in plan_schedule(PROTOCOL, enrollment=ENROLLED)}
    late = {
        v.code: v for v in plan_schedule(PROTOCOL, enrollment=ENROLLED, actual={"dose2": date(2026, 3, 6)})
    }
    assert late["int2a"].target == date(2026, 3, 7)
    assert late["call2-7"].target == date(2026, 3, 13)
    assert late["dose3"].target == date(2026, 4, 3)
    assert late["primary"].target == date(2026, 5, 29)
    for code in ("baseline", "prep3", "dose1", "int1c"):
        assert late[code] == before[code]


def test_a_visit_outside_its_window_reports_by_how_much() -> None:
    dose1 = {v.code: v for v in plan_schedule(PROTOCOL, enrollment=ENROLLED)}["dose1"]
    assert dose1.days_outside_window(date(2026, 2, 16)) == 0
    assert dose1.days_outside_window(date(2026, 2, 18)) == 2
    assert dose1.days_outside_window(date(2026, 1, 28)) == -2
