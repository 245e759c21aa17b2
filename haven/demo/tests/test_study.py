"""The demo study: made through the real services, once, with a report that has something to show."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from haven.accounts.models import Site, User
from haven.core.testing import client_for
from haven.demo.study import PARTICIPANTS, caps5_answers, scores
from haven.dosing.models import DosingSession, SessionStatus
from haven.outcomes.instruments import caps5_past_month
from haven.patients.models import Patient, Visit
from haven.safety.models import AdverseEvent, SaeClock
from haven.trials.models import Randomization, Study

pytestmark = pytest.mark.django_db
NOON_IN_CHICAGO = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOON_IN_CHICAGO, tick=True):
        yield


def _demo() -> None:
    call_command("demo", stdout=io.StringIO())


def _section(html: str, start: str, end: str) -> str:
    begins = html.index(start)
    return html[begins : html.index(end, begins + len(start))]


def test_loading_the_demo_twice_creates_the_study_once() -> None:
    _demo()
    study = Study.objects.get()
    assert (study.protocol_code, study.title) == ("mdma-ptsd", "Demo randomized study")
    assert [(a["code"], a["ratio"], a["control"]) for a in study.arms] == [
        ("MDMA", 1, False),
        ("PBO", 1, True),
    ]
    assert study.factors == ["site"]
    assert list(study.unblinded_statisticians.values_list("username", flat=True)) == ["datamanager"]
    randomized = Randomization.objects.count()
    assert randomized == len(PARTICIPANTS)
    clinic = Site.objects.get(name="Haven Demo Clinic")
    assert {r.slot.stratum for r in Randomization.objects.select_related("slot")} == {f"site={clinic.code}"}
    counts = (Patient.objects.count(), AdverseEvent.objects.count(), DosingSession.objects.count())
    _demo()
    assert Study.objects.count() == 1
    assert Randomization.objects.count() == randomized
    assert (Patient.objects.count(), AdverseEvent.objects.count(), DosingSession.objects.count()) == counts


def test_the_demo_study_leaves_no_session_under_monitoring_no_sae_clock_running_one_withdrawal_per_arm() -> (
    None
):
    _demo()
    assert DosingSession.objects.filter(course__randomization__isnull=False).count() == 4
    assert not DosingSession.objects.filter(
        course__randomization__isnull=False, status=SessionStatus.DOSED
    ).exists()
    assert DosingSession.objects.filter(status=SessionStatus.DOSED).count() == 1  # replay-vitals' one
    assert AdverseEvent.objects.filter(serious=True).count() == 1
    today = timezone.localdate(timezone=ZoneInfo("America/Chicago"))
    overdue = Visit.objects.filter(
        course__randomization__isnull=False,
        course__status="follow_up",
        status="planned",
        window_latest__lt=today,
    )
    assert not overdue.exists()  # the participants attended their visits
    withdrawn = Randomization.objects.filter(course__status="withdrawn").select_related("slot")
    assert sorted(r.slot.arm for r in withdrawn) == ["MDMA", "PBO"]  # one discontinuation per arm
    assert not SaeClock.objects.filter(stopped_at__isnull=True, cancelled_at__isnull=True).exists()


def test_the_synthetic_caps5_ratings_score_as_intended() -> None:
    for total in (0, 11, 27, 28, 50):
        scored = caps5_past_month.score(caps5_answers(total), {})
        assert scored.total == total
        assert scored.diagnosis is (total >= 28)
    mdma = [scores(i, "MDMA") for i in range(len(PARTICIPANTS))]
    placebo = [scores(i, "PBO") for i in range(len(PARTICIPANTS))]
    assert all(s.baseline >= 28 for s in mdma)  # everyone starts with the diagnosis
    assert sum(s.primary < 28 for s in mdma) > sum(s.primary < 28 for s in placebo)
    assert sum(s.baseline - s.primary for s in mdma) > 2 * sum(s.baseline - s.primary for s in placebo)


def test_the_demo_statistician_reads_a_report_with_every_section_filled() -> None:
    _demo()
    page = client_for(User.objects.get(username="datamanager")).get("/studies/mdma-ptsd/report/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"<strong>Randomized</strong></td><td><strong>{len(PARTICIPANTS)}</strong>" in html
    primary = _section(html, "<h2>Primary endpoint</h2>", "<h2>Mean primary score by visit</h2>")
    assert "MMRM of the change from baseline" in primary
    assert re.search(
        r"<td>MDMA − PBO at Primary endpoint \(CAPS-5, blinded rater\)</td><td>-\d+\.\d\d</td>", primary
    )
    # … the contrasts in visit order: the primary endpoint before the 6-month follow-up.
    assert primary.index("at Primary endpoint") < primary.index("at Follow-up at 6 months")
    responses = _section(html, "<h2>Response categories</h2>", "<h2>")
    for category in ("withdrawn", "remission", "loss of diagnosis", "non responder"):
        assert f"<td>{category}</td>" in responses
    assert "Fisher p" in responses
    safety = html[html.index("<h2>Safety: treatment-emergent adverse events</h2>") :]
    assert "MDMA N = 2" in safety
    assert "PBO N = 2" in safety
    serious = safety.split("<td>Serious</td>", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r"<td>(\d+) \(", serious) in (["0", "1"], ["1", "0"])  # one participant, one arm
    assert "<strong>Psychiatric disorders</strong>" in safety
    assert "Suicidal ideation" in safety
    assert "<strong>Not yet coded</strong>" in safety
    for label in ("Time to loss of diagnosis (days)", "Time to discontinuation (days)"):
        km = _section(html, label, "</figure>")
        assert 'aria-label="Kaplan-Meier curves by arm' in km
        assert km.count('<path d="M40.0,40.0') == 2  # a step curve per arm from S = 1
    assert "Log-rank test: χ²" in html
    blinding = _section(html, "<h2>Blinding integrity</h2>", "<h2>")
    for kind in ("participant", "therapist", "rater"):
        assert re.search(rf"<td>{kind}</td><td>MDMA</td><td>\d+</td>", blinding)  # Bang's, by arm
        assert re.search(rf"<td>{kind}</td><td>\d+</td><td>\d+</td><td>0\.\d\d \(", blinding)  # James'
    peaks = _section(html, "<h2>Peak vital-sign rise per session</h2>", "<h2>")
    assert "<td>Systolic BP</td>" in peaks
    assert "No dosed sessions" not in peaks


def test_a_blinded_rater_is_refused_the_report_and_never_sees_an_arm() -> None:
    _demo()
    rater = client_for(User.objects.get(username="rater"))
    refused = [
        rater.get(url)
        for url in (
            "/studies/mdma-ptsd/report/",
            "/studies/mdma-ptsd/report.pdf",
            "/studies/mdma-ptsd/adsl.csv",
            "/studies/mdma-ptsd/",
        )
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    randomizations = Randomization.objects.select_related("course")[:4]
    answers = [rater.get(f"/api/v1/courses/{r.course.public_id}/randomization") for r in randomizations]
    assert [a.status_code for a in answers] == [200] * 4
    assert all((a.json()["blinded"], a.json()["arm"]) == (True, None) for a in answers)
    for response in [*refused, *answers]:
        body = response.content.decode()
        # As words: the page's random CSRF token may hold the letters by chance.
        assert not re.search(r"\b(MDMA|PBO)\b", body)
