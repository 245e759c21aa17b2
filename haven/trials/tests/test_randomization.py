"""Randomization and blinding: permuted blocks balanced and reproducible, one audited race-safe
allocation per patient, concealment from every blinded role, emergency unblinding."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import connections

from haven.audit.errors import SignatureRefused
from haven.audit.models import AuditEntry, Signature
from haven.core.errors import PermissionDenied, ValidationFailed
from haven.core.testing import (
    PASSWORD,
    Cast,
    actor_of,
    client_for,
    make_cast,
    make_enrolled_course,
    make_patient,
    otp_code,
)
from haven.dosing.models import Notification
from haven.patients.models import EnrollmentCourse
from haven.trials import services
from haven.trials.allocation import permuted_blocks
from haven.trials.models import AllocationSlot, Randomization, Study

pytestmark = pytest.mark.django_db
ARMS = [
    {"code": "MDMA", "label": "MDMA-assisted therapy", "ratio": 1},
    {"code": "PBO", "label": "Placebo with therapy", "ratio": 1},
]


def test_blocks_hold_every_arm_in_its_ratio_and_the_list_is_reproducible_from_the_seed() -> None:
    allocations = permuted_blocks(
        seed="s3cret", stratum="site=ALD", arms=[("A", 2), ("B", 1)], multiples=[1, 2], count=60
    )
    blocks: dict[int, list[str]] = {}
    for block, arm in allocations:
        blocks.setdefault(block, []).append(arm)
    sizes = {len(arms) for arms in blocks.values()}
    assert sizes <= {3, 6}
    assert len(sizes) == 2  # the sizes vary
    for arms in blocks.values():
        counts = Counter(arms)
        assert counts["A"] == 2 * counts["B"]
    again = permuted_blocks(
        seed="s3cret", stratum="site=ALD", arms=[("A", 2), ("B", 1)], multiples=[1, 2], count=60
    )
    assert again == allocations
    other = permuted_blocks(
        seed="other", stratum="site=ALD", arms=[("A", 2), ("B", 1)], multiples=[1, 2], count=60
    )
    assert other != allocations


def _study(cast: Cast) -> Study:
    return services.study_create(
        actor=actor_of(cast.dana),
        protocol_code="mdma-ptsd",
        title="MAPP-style study",
        arms=ARMS,
        factors=["site", "dissociative"],
        statisticians=[cast.dana],
    )


def _courses(cast: Cast, n: int) -> list[EnrollmentCourse]:
    return [
        make_enrolled_course(
            cast,
            enrolled_on=date.today() - timedelta(days=3),
            patient=make_patient(cast, given_name=f"P{i}", family_name=f"Test{i}"),
        )
        for i in range(n)
    ]


def test_randomizing_follows_the_list_within_strata_and_never_writes_the_arm_to_the_trail(cast: Cast) -> None:
    study = _study(cast)
    courses = _courses(cast, 4)
    done = [
        services.randomize(actor=actor_of(cast.carmen), course=c, factors={"dissociative": "no"})
        for c in courses
    ]
    stratum = f"site={cast.site_a.code}|dissociative=no"
    expected = list(
        AllocationSlot.objects.filter(study=study, stratum=stratum)
        .order_by("sequence")
        .values_list("arm", flat=True)[:4]
    )
    assert [r.slot.arm for r in done] == expected
    assert [r.slot.sequence for r in done] == [1, 2, 3, 4]
    with pytest.raises(ValidationFailed) as refused:
        services.randomize(actor=actor_of(cast.carmen), course=_courses(cast, 1)[0])
    assert refused.value.fields == {"factors.dissociative": ["is required to randomize"]}
    trail = json.dumps(
        list(AuditEntry.objects.filter(record_type="trials.randomization").values_list("changes", flat=True))
    )
    assert "MDMA" not in trail
    assert "PBO" not in trail
    assert '"sequence"' in trail


def test_only_unblinded_people_see_an_arm(cast: Cast) -> None:
    _study(cast)
    (course,) = _courses(cast, 1)
    randomization = services.randomize(
        actor=actor_of(cast.carmen), course=course, factors={"dissociative": "yes"}
    )
    assert services.arm_for(cast.dana, randomization) in {"MDMA", "PBO"}  # the study's statistician
    for blinded in (cast.alice, cast.carmen, cast.priya, cast.riley, cast.avery):
        assert services.arm_for(blinded, randomization) is None
    body = client_for(cast.alice).get(f"/api/v1/courses/{course.public_id}/randomization").json()
    assert body["arm"] is None
    assert body["blinded"] is True
    assert "MDMA" not in json.dumps(body)
    assert client_for(cast.dana).get(f"/api/v1/courses/{course.public_id}/randomization").json()["arm"] in {
        "MDMA",
        "PBO",
    }


def test_an_emergency_unblinding_needs_a_physicians_signature_and_tells_the_monitor(cast: Cast) -> None:
    _study(cast)
    (course,) = _courses(cast, 1)
    randomization = services.randomize(
        actor=actor_of(cast.carmen), course=course, factors={"dissociative": "no"}
    )
    with pytest.raises(PermissionDenied):
        services.emergency_unblind(
            actor=actor_of(cast.alice), randomization=randomization, reason="x", password=PASSWORD
        )
    with pytest.raises(SignatureRefused):
        services.emergency_unblind(
            actor=actor_of(cast.priya),
            randomization=randomization,
            reason="serotonin syndrome suspected",
            password="wrong",
            otp_code=otp_code(cast.priya),
        )
    client = client_for(cast.priya)
    response = client.post(
        f"/api/v1/courses/{course.public_id}/randomization/unblind",
        data=json.dumps(
            {
                "reason": "serotonin syndrome suspected; treatment depends on the arm",
                "password": PASSWORD,
                "otp_code": otp_code(cast.priya),
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["arm"] == randomization.slot.arm
    assert services.arm_for(cast.priya, randomization) == randomization.slot.arm
    assert services.arm_for(cast.alice, randomization) is None
    assert Signature.objects.filter(record_type="trials.unblinding", meaning="approved").count() == 1
    assert (
        Notification.objects.filter(recipient=cast.sam, subject__contains="emergency unblinding").count() == 1
    )


def test_two_racing_randomizations_never_take_the_same_slot(transactional_db: None) -> None:
    cast = make_cast()
    _study(cast)
    courses = _courses(cast, 2)
    start = threading.Barrier(2)
    errors: list[str] = []

    def go(course: EnrollmentCourse) -> None:
        try:
            start.wait()
            services.randomize(actor=actor_of(cast.carmen), course=course, factors={"dissociative": "no"})
        except Exception as error:
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=go, args=(c,)) for c in courses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(Randomization.objects.values_list("slot__sequence", flat=True)) == [1, 2]


def test_the_blinding_summary_counts_guesses_per_arm_and_respondent_for_statisticians_only(
    cast: Cast,
) -> None:
    from haven.outcomes import services as outcomes

    _study(cast)
    courses = _courses(cast, 4)  # blocks of 2 or 4: four patients cover both arms
    allocated = [
        services.randomize(actor=actor_of(cast.carmen), course=c, factors={"dissociative": "no"})
        for c in courses
    ]
    guess_of = {"MDMA": "active", "PBO": "placebo"}
    for course, randomization in zip(courses, allocated, strict=True):
        right = guess_of[randomization.slot.arm]
        outcomes.response_record(
            actor=actor_of(cast.alice),
            course=course,
            instrument="treatment_guess",
            respondent="patient",
            answers={
                "treatment_guess_respondent": "participant",
                "treatment_guess_arm": right,
                "treatment_guess_confidence": 80,
            },
        )
        outcomes.response_record(
            actor=actor_of(cast.alice),
            course=course,
            instrument="treatment_guess",
            respondent="therapist",
            answers={
                "treatment_guess_respondent": "therapist",
                "treatment_guess_arm": "dont_know",
                "treatment_guess_confidence": 10,
            },
        )
    # An earlier "don't know" of the first participant is superseded by their latest guess: each
    # patient counts once per respondent type.
    from django.utils import timezone

    outcomes.response_record(
        actor=actor_of(cast.alice),
        course=courses[0],
        instrument="treatment_guess",
        respondent="patient",
        answers={
            "treatment_guess_respondent": "participant",
            "treatment_guess_arm": "dont_know",
            "treatment_guess_confidence": 0,
        },
        completed_at=timezone.now() - timedelta(days=1),
    )
    summary = services.blinding_summary(user=cast.dana, study=Study.objects.get())
    assert sum(row["n"] for row in summary["participant"]["bang"]) == 4
    participants = [row for row in summary["participant"]["bang"] if row["n"]]
    assert all(
        row["correct"] == row["n"] and row["index"] == 1.0 for row in participants
    )  # everyone guessed right
    assert summary["participant"]["james"]["index"] == pytest.approx(0.0)  # James: unblinded
    assert sum(row["n"] for row in summary["therapist"]["bang"]) == 4
    assert all(row["dont_know"] == row["n"] for row in summary["therapist"]["bang"] if row["n"])
    assert summary["therapist"]["james"] == {
        "n": 4,
        "dont_know": 4,
        "index": 1.0,
        "se": 0.0,
        "lower": 1.0,
        "upper": 1.0,
    }  # all "don't know": James' index is 1 with no variance
    assert client_for(cast.alice).get("/api/v1/studies/mdma-ptsd/blinding").status_code == 403
    body = client_for(cast.dana).get("/api/v1/studies/mdma-ptsd/blinding").json()
    assert set(body) == {"participant", "therapist", "rater"}
    assert body["rater"]["bang"][0]["n"] == 0
    assert body["rater"]["bang"][0]["index"] is None
    assert body["rater"]["james"] == {
        "n": 0,
        "dont_know": 0,
        "index": None,
        "se": None,
        "lower": None,
        "upper": None,
    }
    assert body["participant"]["james"]["index"] == pytest.approx(0.0)


def test_blinded_supply_assigns_a_kit_of_the_arm_and_the_ledger_dispenses_only_that_kit(cast: Cast) -> None:
    from decimal import Decimal

    from haven.dosing.services import session_open
    from haven.inventory import services as ledger
    from haven.inventory.models import Lot, Registration, StorageLocation, Substance
    from haven.patients.models import Visit

    study = _study(cast)
    with pytest.raises(PermissionDenied):
        services.kits_load(actor=actor_of(cast.carmen), study=study, rows=[("K-001", "MDMA", cast.site_a)])
    rows = [
        ("K-001", "MDMA", cast.site_a),
        ("K-002", "PBO", cast.site_a),
        ("K-003", "MDMA", cast.site_a),
        ("K-004", "PBO", cast.site_a),
    ]
    assert services.kits_load(actor=actor_of(cast.dana), study=study, rows=rows) == 4
    assert "MDMA" not in json.dumps(
        list(AuditEntry.objects.filter(record_type="trials.kitlist").values_list("changes", flat=True))
    )
    (course,) = _courses(cast, 1)
    randomization = services.randomize(
        actor=actor_of(cast.carmen), course=course, factors={"dissociative": "no"}
    )
    assert randomization.kit is not None
    assert randomization.kit.arm == randomization.slot.arm
    body = client_for(cast.alice).get(f"/api/v1/courses/{course.public_id}/randomization").json()
    assert (body["kit"], body["arm"]) == (randomization.kit.number, None)  # a kit, never an arm
    registration = Registration.objects.create(
        site=cast.site_a, registrant="Alder", number="RA1", address="1 Main St"
    )
    substance = Substance.objects.create(
        registration=registration, name="MDMA or placebo (blinded)", schedule="I"
    )
    safe = StorageLocation.objects.create(site=cast.site_a, name="Safe A")
    kits = {}
    for number, _, _ in rows:
        kits[number] = Lot.objects.create(
            substance=substance,
            lot_number=f"LOT-{number}",
            finished_form="40 mg capsule",
            strength=Decimal(40),
            units_per_container=4,
            expires_on=date(2030, 1, 1),
            kit_number=number,
        )
        ledger.receive(
            actor=actor_of(cast.pat),
            lot=kits[number],
            location=safe,
            containers=1,
            supplier_name="s",
            supplier_address="a",
            supplier_registration="r",
            order_form_number="o",
            received_on=date.today(),
        )
    from haven.core.testing import make_credential

    make_credential(cast.alice, cast.site_a)
    session = session_open(actor=actor_of(cast.alice), visit=Visit.objects.get(course=course, code="dose1"))
    wrong = next(n for n in kits if n != randomization.kit.number)
    with pytest.raises(ValidationFailed) as refused:
        ledger.dispense(actor=actor_of(cast.pat), lot=kits[wrong], location=safe, quantity=3, session=session)
    assert refused.value.fields == {"lot": [f"this patient's kit is {randomization.kit.number}"]}
    ledger.dispense(
        actor=actor_of(cast.pat),
        lot=kits[randomization.kit.number],
        location=safe,
        quantity=3,
        session=session,
    )


def test_a_data_manager_sets_up_a_study_and_loads_kits_through_the_api(cast: Cast) -> None:
    body = {
        "protocol_code": "mdma-ptsd",
        "title": "MAPP-style",
        "arms": [{"code": "MDMA", "ratio": 1}, {"code": "PBO", "ratio": 1, "control": True}],
        "statistician_ids": [str(cast.dana.public_id)],
    }
    refused = client_for(cast.carmen).post(
        "/api/v1/studies", data=json.dumps(body), content_type="application/json"
    )
    assert refused.status_code == 403
    wrong = client_for(cast.dana).post(
        "/api/v1/studies",
        data=json.dumps(body | {"statistician_ids": [str(cast.alice.public_id)]}),
        content_type="application/json",
    )
    assert wrong.json()["fields"] == {"statistician_ids": ["each must be a data manager / statistician"]}
    created = client_for(cast.dana).post(
        "/api/v1/studies", data=json.dumps(body), content_type="application/json"
    )
    assert created.status_code == 201
    assert created.json()["statisticians"] == [cast.dana.printed_name]
    assert "seed" not in created.json()
    assert services.control_arm(Study.objects.get()) == "PBO"
    kits = [{"number": "K-1", "arm": "MDMA", "site_id": str(cast.site_a.public_id)}]
    loaded = client_for(cast.dana).post(
        "/api/v1/studies/mdma-ptsd/kits", data=json.dumps(kits), content_type="application/json"
    )
    assert loaded.json() == {"loaded": 1}
    assert (
        client_for(cast.alice)
        .post("/api/v1/studies/mdma-ptsd/kits", data=json.dumps(kits), content_type="application/json")
        .status_code
        == 403
    )


def test_randomization_and_an_emergency_unblinding_are_on_the_patients_timeline_without_the_arm(
    cast: Cast,
) -> None:
    _study(cast)
    (course,) = _courses(cast, 1)
    randomization = services.randomize(
        actor=actor_of(cast.carmen), course=course, factors={"dissociative": "no"}
    )
    services.emergency_unblind(
        actor=actor_of(cast.priya),
        randomization=randomization,
        reason="anaphylaxis",
        password=PASSWORD,
        otp_code=otp_code(cast.priya),
    )
    chart = client_for(cast.carmen).get(f"/patients/{course.patient.public_id}/").content.decode()
    assert "Randomized in MAPP-style study" in chart
    assert f"Emergency unblinding by {cast.priya.printed_name} (signed): anaphylaxis" in chart
    detail = client_for(cast.carmen).get(f"/api/v1/courses/{course.public_id}").json()
    assert (
        next(e["text"] for e in detail["timeline"] if e["kind"] == "trial")
        == "Randomized in MAPP-style study"
    )


def test_set_up_errors_are_all_named_and_a_kit_number_twice_is_refused_by_row(cast: Cast) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.study_create(
            actor=actor_of(cast.dana),
            protocol_code="mdma-ptsd",
            title="Twice",
            arms=[{"code": "A", "ratio": 0}, {"code": "A", "ratio": 1}],
            statisticians=[cast.dana],
        )
    assert refused.value.fields["arms"] == [
        "at least two arms, each with its own code",
        "each ratio is a whole number from 1 to 10",
    ]
    assert not Study.objects.exists()
    study = _study(cast)
    rows = [("K-1", "MDMA", cast.site_a), ("K-2", "PBO", cast.site_a), ("K-1", "PBO", cast.site_a)]
    with pytest.raises(ValidationFailed, match="row 3: kit number K-1 is already on row 1"):
        services.kits_load(actor=actor_of(cast.dana), study=study, rows=rows)
    assert not study.kits.exists()
    site = str(cast.site_a.public_id)
    response = client_for(cast.dana).post(
        "/api/v1/studies/mdma-ptsd/kits",
        [{"number": "K-9", "arm": "MDMA", "site_id": site}, {"number": "K-9", "arm": "PBO", "site_id": site}],
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "row 2: kit number K-9 is already on row 1" in response.content.decode()
    assert not study.kits.exists()
