"""The study report and the ADaM-shaped exports from Haven's own records."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

import pytest

from haven.audit.models import AuditEntry
from haven.core.testing import Cast, actor_of, client_for, make_enrolled_course, make_patient
from haven.outcomes import services as outcomes
from haven.patients.models import Visit
from haven.trials import services

pytestmark = pytest.mark.django_db


def _caps5(level: int, *, diagnosis: bool) -> dict[str, Any]:
    codes = [f"caps5_b{n}" for n in range(1, 6)] + [f"caps5_c{n}" for n in range(1, 3)]
    codes += [f"caps5_d{n}" for n in range(1, 8)] + [f"caps5_e{n}" for n in range(1, 7)]
    return dict.fromkeys(codes, level) | {
        "caps5_criterion_a": True,
        "caps5_criterion_f": diagnosis,
        "caps5_criterion_g": diagnosis,
    }


def test_the_report_computes_flow_table1_endpoint_and_responses_from_havens_records(cast: Cast) -> None:
    services.study_create(
        actor=actor_of(cast.dana),
        protocol_code="mdma-ptsd",
        title="MAPP-style study",
        statisticians=[cast.dana],
        factors=["site"],
        arms=[{"code": "MDMA", "ratio": 1}, {"code": "PBO", "ratio": 1, "control": True}],
    )
    for i in range(8):
        patient = make_patient(
            cast, given_name=f"P{i}", family_name=f"Report{i}", date_of_birth=date(1980 + i, 1, 1)
        )
        course = make_enrolled_course(cast, enrolled_on=date.today() - timedelta(days=5), patient=patient)
        randomization = services.randomize(actor=actor_of(cast.carmen), course=course)
        visits = {v.definition_code: v for v in Visit.objects.filter(course=course)}
        active = randomization.slot.arm == "MDMA"
        outcomes.response_record(
            actor=actor_of(cast.riley),
            course=course,
            instrument="caps5",
            respondent="rater",
            answers=_caps5(2 + i % 3 // 2, diagnosis=True),
            visit=visits["baseline"],
        )
        outcomes.response_record(
            actor=actor_of(cast.riley),
            course=course,
            instrument="caps5",
            respondent="rater",
            answers=_caps5(0 if active else 2 - (i % 2), diagnosis=not active),
            visit=visits["primary"],
        )
    page = client_for(cast.dana).get("/studies/mdma-ptsd/report/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>Randomized</strong></td><td><strong>8</strong>" in html
    assert "MDMA - PBO" in html  # the primary analysis contrast
    assert "remission" in html
    assert "data snapshot" in html
    assert html.count("<polyline") == 2  # the mean primary score of each arm by visit
    assert "Change from baseline by visit (durability)" in html
    durability = html[html.index("(durability)") : html.index("Response categories")]
    counts = re.findall(r"<td>(\d+), -?[\d.]+</td>", durability[durability.index("<td>primary</td>") :])
    assert sum(int(n) for n in counts) == 8  # every participant at the primary endpoint, split by arm
    assert "No dosed sessions with pre- and post-dose vital signs yet." in html
    assert client_for(cast.alice).get("/studies/mdma-ptsd/report/").status_code == 403
    adsl = client_for(cast.dana).get("/studies/mdma-ptsd/adsl.csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(adsl)))
    assert len(rows) == 8
    assert {r["ARM"] for r in rows} == {"MDMA", "PBO"}
    assert "Report" not in adsl  # de-identified
    adqs = list(
        csv.DictReader(io.StringIO(client_for(cast.dana).get("/studies/mdma-ptsd/adqs.csv").content.decode()))
    )
    primary = [r for r in adqs if r["AVISIT"] == "primary"]
    assert all(float(r["CHG"]) == float(r["AVAL"]) - float(r["BASE"]) for r in primary)
    assert (
        AuditEntry.objects.filter(action="export", record_type__in=["trials.adsl", "trials.adqs"]).count()
        == 2
    )


def test_peak_vitals_average_the_largest_rise_per_session_by_arm(cast: Cast) -> None:
    import time_machine

    from haven.dosing import services as dosing
    from haven.safety.tests.helpers import T0, dosed
    from haven.trials.models import Study
    from haven.trials.report import peak_vitals

    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        session = dosed(cast)
        for minutes, systolic in ((30, 150), (60, 170), (90, 140)):
            dosing.vitals_record(
                actor=actor_of(cast.alice),
                session=session,
                values={"systolic_bp": (systolic, "mm[Hg]")},
                observed_at=T0 + timedelta(minutes=minutes),
            )
        study = services.study_create(
            actor=actor_of(cast.dana),
            protocol_code="mdma-ptsd",
            title="S",
            statisticians=[cast.dana],
            factors=["site"],
            arms=[{"code": "MDMA", "ratio": 1}, {"code": "PBO", "ratio": 1}],
        )
        randomization = services.randomize(actor=actor_of(cast.carmen), course=session.course)
    rows = peak_vitals(Study.objects.get(pk=study.pk), {session.course_id: randomization.slot.arm})
    peak = next(r for r in rows if r["parameter"] == "systolic_bp")
    assert (peak["arm"], peak["sessions"], peak["mean_peak_rise"]) == (
        randomization.slot.arm,
        1,
        48.0,
    )  # 170 − 122
