"""Safety pages: record, re-render with errors, review drafts, export (audited); the rater sees nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine

from haven.audit.models import AuditEntry
from haven.core.testing import Cast, actor_of, client_for
from haven.dosing import services as dosing
from haven.dosing.models import Alert
from haven.safety import services
from haven.safety.models import AdverseEvent, SolicitedChecklist
from haven.safety.tests.helpers import T0, dosed, mild, serious

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0 + timedelta(hours=2), tick=False) as traveller:
        yield traveller


def _form(**overrides: str) -> dict[str, str]:
    # Times are entered as the site's wall-clock time (Chicago: UTC-6 in November).
    return {
        "verbatim_term": "Feeling jittery",
        "onset_at": "2026-11-25T09:40",
        "severity": "mild",
        "relatedness": "possible",
        "expected": "yes",
        "action_taken": "none",
        "outcome": "recovered",
    } | overrides


def test_it_records_an_event_from_the_page(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    response = client_for(cast.alice).post(
        f"/courses/{session.course.public_id}/adverse-events/new/", _form()
    )
    assert response.status_code == 302
    event = AdverseEvent.objects.get()
    assert (event.verbatim_term, event.onset_at) == ("Feeling jittery", T0 + timedelta(minutes=40))
    page = client_for(cast.alice).get(response["Location"])
    assert page.status_code == 200
    assert "+40 min since the latest dose" in page.content.decode()


def test_a_serious_event_without_awareness_is_re_rendered_with_the_error_by_the_field(
    cast: Cast, clock: Any
) -> None:
    session = dosed(cast)
    response = client_for(cast.alice).post(
        f"/courses/{session.course.public_id}/adverse-events/new/", _form(hospitalisation="on", expected="no")
    )
    assert response.status_code == 422
    assert "a serious event needs the time the site became aware of it" in response.content.decode()
    assert not AdverseEvent.objects.exists()


def test_a_session_alert_prefills_the_form_and_the_link_is_kept(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    dosing.vitals_record(
        actor=actor_of(cast.ben),
        session=session,
        values={"systolic_bp": (166, "mm[Hg]")},
        observed_at=T0 + timedelta(minutes=60),
    )
    alert = Alert.objects.get()
    alice = client_for(cast.alice)
    path = f"/courses/{session.course.public_id}/adverse-events/new/"
    page = alice.get(f"{path}?alert={alert.public_id}")
    assert 'value="Blood pressure increased"' in page.content.decode()
    assert 'value="2026-11-25T10:00"' in page.content.decode()
    response = alice.post(
        path,
        _form(
            verbatim_term="Blood pressure increased", onset_at="2026-11-25T10:00", alert=str(alert.public_id)
        ),
    )
    assert response.status_code == 302
    assert AdverseEvent.objects.get().source_alert == alert
    assert AdverseEvent.objects.get().session == session


def test_an_emergency_becomes_a_draft_serious_event_from_its_page(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    emergency = dosing.emergency_declare(actor=actor_of(cast.ben), session=session, description="Collapsed")
    response = client_for(cast.priya).post(f"/emergencies/{emergency.public_id}/adverse-event/")
    assert response.status_code == 302
    event = AdverseEvent.objects.get()
    assert (event.status, event.serious, event.source_emergency) == ("draft", True, emergency)
    site_page = client_for(cast.priya).get(f"/sites/{cast.site_a.public_id}/safety/").content.decode()
    assert "Safety events to review" in site_page
    assert "Collapsed" in site_page


def test_the_site_page_shows_the_queue_and_the_export_is_audited(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    sae = services.ae_record(actor=actor_of(cast.priya), course=session.course, data=serious())
    services.ae_record(actor=actor_of(cast.alice), course=session.course, data=mild(verbatim_term="Euphoria"))
    detail = client_for(cast.priya).get(f"/adverse-events/{sae.public_id}/").content.decode()
    assert "Sign the assessment" in detail
    assert "Record the report as submitted" in detail
    page = client_for(cast.priya).get(f"/sites/{cast.site_a.public_id}/safety/").content.decode()
    assert "Initial report to the sponsor" in page
    assert "Positive-valence effects" in page
    response = client_for(cast.dana).get(f"/sites/{cast.site_a.public_id}/safety/adverse-events.csv")
    assert response.status_code == 200
    rows = response.getvalue().decode().splitlines()
    assert rows[0].startswith("id,study_id,status")
    assert len(rows) == 3
    assert AuditEntry.objects.filter(action="export", record_type="safety.adverseevent").count() == 1
    assert (
        client_for(cast.alice).get(f"/sites/{cast.site_a.public_id}/safety/adverse-events.csv").status_code
        == 403
    )


def test_edits_on_the_page_need_a_reason(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    event = services.ae_record(actor=actor_of(cast.alice), course=session.course, data=mild())
    alice = client_for(cast.alice)
    form = _form(verbatim_term="Jaw clenching", onset_at="2026-11-25T09:50", severity="moderate")
    response = alice.post(f"/adverse-events/{event.public_id}/edit/", form)
    assert response.status_code == 422
    assert "say why the event is changed" in response.content.decode()
    response = alice.post(f"/adverse-events/{event.public_id}/edit/", form | {"reason": "worse"})
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.version, event.severity) == (2, "moderate")


def test_a_solicited_none_is_recorded_and_a_yes_offers_an_adverse_event(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    alice = client_for(cast.alice)
    path = f"/courses/{session.course.public_id}/solicited-effects/"
    assert alice.post(path, {"time_point": "session_end", "none_reported": "on"}).status_code == 302
    assert alice.post(path, {"time_point": "day1"}).status_code == 422
    assert alice.post(path, {"time_point": "day1", "effect_euphoria": "on"}).status_code == 302
    assert SolicitedChecklist.objects.count() == 2
    page = alice.get(path).content.decode()
    assert "?term=euphoria" in page


def test_the_blinded_rater_gets_not_found_on_every_safety_page(cast: Cast, clock: Any) -> None:
    session = dosed(cast)
    event = services.ae_record(actor=actor_of(cast.priya), course=session.course, data=serious())
    emergency = dosing.emergency_declare(actor=actor_of(cast.ben), session=session)
    riley = client_for(cast.riley)
    e, c, s = event.public_id, session.course.public_id, cast.site_a.public_id
    for method, path in (
        ("get", f"/sites/{s}/safety/"),
        ("get", f"/sites/{s}/safety/adverse-events.csv"),
        ("get", f"/courses/{c}/adverse-events/new/"),
        ("post", f"/courses/{c}/adverse-events/new/"),
        ("get", f"/courses/{c}/solicited-effects/"),
        ("post", f"/courses/{c}/solicited-effects/"),
        ("post", f"/emergencies/{emergency.public_id}/adverse-event/"),
        ("get", f"/adverse-events/{e}/"),
        ("post", f"/adverse-events/{e}/edit/"),
        ("post", f"/adverse-events/{e}/entered-in-error/"),
        ("post", f"/adverse-events/{e}/coding/"),
        ("post", f"/adverse-events/{e}/reports/"),
        ("post", f"/adverse-events/{e}/assessments/"),
    ):
        response = getattr(riley, method)(path)
        assert response.status_code == 404, (method, path, response.status_code)
    assert AdverseEvent.objects.count() == 1


def test_the_chart_and_home_lead_to_the_safety_pages_for_the_clinical_team_only(cast: Cast) -> None:
    from datetime import date

    from haven.core.testing import make_enrolled_course

    course = make_enrolled_course(cast, enrolled_on=date(2026, 10, 1))
    chart = client_for(cast.alice).get(f"/patients/{course.patient.public_id}/").content.decode()
    assert f"/courses/{course.public_id}/adverse-events/new/" in chart
    rater = client_for(cast.riley).get(f"/patients/{course.patient.public_id}/").content.decode()
    assert "adverse-events/new" not in rater
    home = client_for(cast.alice).get("/").content.decode()
    assert f"/sites/{cast.site_a.public_id}/safety/" in home


def test_incidence_by_arm_shows_only_to_those_who_may_see_every_arm(cast: Cast, clock: Any) -> None:
    from haven.safety.tests.helpers import dosed, mild
    from haven.trials import services as trials

    session = dosed(cast)
    trials.study_create(
        actor=actor_of(cast.dana),
        protocol_code="mdma-ptsd",
        title="Study",
        statisticians=[cast.dana],
        factors=["site"],
        arms=[{"code": "MDMA", "ratio": 1}, {"code": "PBO", "ratio": 1}],
    )
    randomization = trials.randomize(actor=actor_of(cast.carmen), course=session.course)
    services.ae_record(actor=actor_of(cast.alice), course=session.course, data=mild())
    url = f"/sites/{cast.site_a.public_id}/safety/"
    statistician = client_for(cast.dana).get(url).content.decode()
    arm = randomization.slot.arm
    assert "By arm (you may see arms)" in statistician
    assert f"{arm} (N = 1)" in statistician
    assert "1 (100.0%) [1]" in statistician
    therapist = client_for(cast.alice).get(url).content.decode()
    assert "By arm" not in therapist
    assert "(N = 1)" not in therapist


def test_a_monitor_of_two_sites_sees_both_side_by_side_and_others_only_their_own(
    cast: Cast, clock: Any
) -> None:
    from haven.accounts.models import Role
    from haven.core.testing import grant

    session = dosed(cast)
    clock.move_to(T0 + timedelta(hours=3))
    services.ae_record(actor=actor_of(cast.alice), course=session.course, data=mild())
    services.ae_record(actor=actor_of(cast.priya), course=session.course, data=serious())
    grant(cast.sam, cast.site_b, Role.SPONSOR_MONITOR)
    monitor = client_for(cast.sam)
    assert 'href="/safety/"' in monitor.get("/").content.decode()  # two sites: the overview is offered
    page = monitor.get("/safety/").content.decode()
    sites = page[page.index('id="sites-h"') : page.index('id="queue-h"')]
    assert f"{cast.site_a.name}</a></td><td>2</td><td>1</td><td>2</td>" in sites  # events, serious, clocks
    assert f"{cast.site_b.name}</a></td><td>0</td><td>0</td><td>0</td>" in sites
    queue = page[page.index('id="queue-h"') : page.index('id="list-h"')]
    assert queue.count(f"<td>{cast.site_a.name}</td>") == 2  # the initial and the expedited report
    listing = page[page.index('id="list-h"') :]
    assert "Hypertensive urgency" in listing
    assert "Jaw clenching" in listing
    # The other site's therapist sees only their own site, which has nothing; a blinded rater nothing.
    outsider = client_for(cast.oscar).get("/safety/").content.decode()
    assert cast.site_a.name not in outsider
    assert "Hypertensive urgency" not in outsider
    assert 'href="/safety/"' not in client_for(cast.alice).get("/").content.decode()  # one site only
    refused = client_for(cast.riley).get("/safety/")
    assert refused.status_code == 404
    assert "Hypertensive" not in refused.content.decode()
