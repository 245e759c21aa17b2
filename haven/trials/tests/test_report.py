"""The study report and the ADaM-shaped exports from Haven's own records."""

from __future__ import annotations

import csv
import io
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
