"""Concealment, swept: no blinded person learns a patient's arm from any page, API route, export or
error message.

One randomized patient carries everything that could betray an arm: a kit, a dosed session with
vital signs, an adverse event, treatment guesses. Every GET route Haven serves — pages and
``/api/v1`` alike, discovered from the URL configuration so that a route added later is swept too —
is requested by every blinded member of staff, with the ids of that patient's records filled in.
No answer may contain the arms' codes or labels (chosen so that nothing else in Haven prints
them) — with one exception by design: the audit trail shows the study's creation, whose entry lists
every arm (the design, not an assignment); there both arms must appear equally often, so nothing
singles one out. The study's statistician, who may see the arm, is the sweep's positive control:
the same walk finds the arm in her answers, so the sweep can fail.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from haven.accounts.models import User
from haven.core.testing import Cast, actor_of, client_for
from haven.dosing import services as dosing
from haven.outcomes import services as outcomes
from haven.safety import services as safety
from haven.safety.tests.helpers import T0, dosed, mild
from haven.trials import services

pytestmark = pytest.mark.django_db

ARMS = [
    {"code": "ZETAQ", "label": "Zetaquil capsule", "ratio": 1},
    {"code": "OMEGAV", "label": "Omegavir capsule", "ratio": 1, "control": True},
]
# As words: random tokens on a page (CSRF) may hold the letters by chance.
SECRETS = re.compile(r"\b(zetaq|omegav)\b", re.IGNORECASE)
AUDIT_TRAILS = re.compile(r"/audit(/|\.csv|/sites/.*/entries)")
# Server-sent events never end; the board's stream carries the same cards as the board page, which
# is swept (and its own tests check who may open it).
LIVE_STREAMS = {"/sites/<uuid:site_id>/board/events"}


def _routes() -> Iterator[str]:
    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    seen: set[str] = set()
    for route in walk(get_resolver().url_patterns, "/"):
        if route.startswith("/^") or route in seen:  # the API's catch-all regex, and GET/POST twins
            continue
        if route in LIVE_STREAMS:
            continue
        seen.add(route)
        yield route


def _urls(values: dict[str, list[str]]) -> list[str]:
    """Every route whose parameters we can fill, once per combination of the values given."""
    urls = []
    for route in _routes():
        names = re.findall(r"<(?:\w+:)?(\w+)>", route)
        if any(n not in values for n in names):
            continue
        for combination in itertools.product(*(values[n] for n in names)):
            url = route
            for name, value in zip(names, combination, strict=True):
                url = re.sub(rf"<(?:\w+:)?{name}>", value, url, count=1)
            urls.append(url)
    return urls


def _body(client: Client, url: str) -> str:
    response = client.get(url)
    if getattr(response, "streaming", False):  # CSV exports
        return b"".join(response.streaming_content).decode(errors="replace")  # type: ignore[attr-defined]
    return response.content.decode(errors="replace")


def _leaks(body: str, *, audit_trail: bool) -> bool:
    if not audit_trail:
        return bool(SECRETS.search(body))
    found = [m.lower() for m in SECRETS.findall(body)]
    return found.count("zetaq") != found.count("omegav")


def test_no_blinded_role_sees_the_arm_through_any_page_api_export_or_error(cast: Cast) -> None:
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        session = dosed(cast)
        course = session.course
        study = services.study_create(
            actor=actor_of(cast.dana),
            protocol_code="mdma-ptsd",
            title="Concealment study",
            arms=ARMS,
            factors=["site"],
            statisticians=[cast.dana],
        )
        services.kits_load(
            actor=actor_of(cast.dana),
            study=study,
            rows=[("K-101", "ZETAQ", cast.site_a), ("K-102", "OMEGAV", cast.site_a)],
        )
        randomization = services.randomize(actor=actor_of(cast.carmen), course=course)
        dosing.vitals_record(
            actor=actor_of(cast.alice),
            session=session,
            values={"systolic_bp": (148, "mm[Hg]")},
            observed_at=T0 + timedelta(minutes=45),
        )
        event = safety.ae_record(actor=actor_of(cast.alice), course=course, data=mild())
        guess = outcomes.response_record(
            actor=actor_of(cast.alice),
            course=course,
            instrument="treatment_guess",
            respondent="therapist",
            answers={
                "treatment_guess_respondent": "therapist",
                "treatment_guess_arm": "active",
                "treatment_guess_confidence": 70,
            },
        )
        urls = _urls(
            {
                "site_id": [str(cast.site_a.public_id)],
                "patient_id": [str(course.patient.public_id)],
                "course_id": [str(course.public_id)],
                "visit_id": [str(session.visit.public_id)],
                "session_id": [str(session.public_id)],
                "event_id": [str(event.public_id)],
                "response_id": [str(guess.public_id)],
                "protocol_code": ["mdma-ptsd"],
                "dataset": ["adsl", "adqs", "adae", "adtte", "advs"],
                "instrument": ["treatment_guess"],
                "code": ["treatment_guess"],
            }
        )
        # Errors too: randomizing the same patient again, and unblinding without the right.
        again = client_for(cast.carmen).post(
            f"/api/v1/courses/{course.public_id}/randomization", {}, content_type="application/json"
        )
        refused_unblind = client_for(cast.alice).post(
            f"/api/v1/courses/{course.public_id}/randomization/unblind",
            {"reason": "curious", "password": "x", "otp": "000000"},
            content_type="application/json",
        )
        blinded: list[User] = [
            cast.alice,
            cast.ben,
            cast.priya,
            cast.carmen,
            cast.pat,
            cast.riley,
            cast.sam,
            cast.avery,
            cast.morgan,
            cast.oscar,
        ]
        leaks = []
        for user in blinded:
            client = client_for(user)
            for url in urls:
                if _leaks(_body(client, url), audit_trail=bool(AUDIT_TRAILS.search(url))):
                    leaks.append((user.username, url))
        statistician = client_for(cast.dana)
        seen_by_statistician = [url for url in urls if SECRETS.search(_body(statistician, url))]
        # The audit trail's rule (both arms equally often) would also catch a lone arm.
        own_arm = _body(statistician, f"/api/v1/courses/{course.public_id}/randomization")

    assert randomization.kit is not None
    assert len(urls) > 150  # pages and API routes about this patient, site, session, study
    assert leaks == [], "\n".join(map(str, leaks))
    for response in (again, refused_unblind):
        assert response.status_code in (403, 409, 422)
        assert not SECRETS.search(response.content.decode())
    # The positive control: the same sweep shows the arm to the study's statistician.
    assert _leaks(own_arm, audit_trail=True)
    assert f"/api/v1/courses/{course.public_id}/randomization" in seen_by_statistician
    assert "/studies/mdma-ptsd/report/" in seen_by_statistician
    assert "/studies/mdma-ptsd/adsl.csv" in seen_by_statistician
