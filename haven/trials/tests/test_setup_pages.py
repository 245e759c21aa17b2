"""The study setup pages: a data manager sets a study up through a form, its statistician loads the
kit list as CSV, and the summary shows design facts and counts, never which patient got which arm."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from haven.accounts.models import Role
from haven.audit.models import AuditEntry
from haven.core.testing import (
    Cast,
    actor_of,
    client_for,
    grant,
    load_shipped_protocol,
    make_enrolled_course,
    make_patient,
    make_user,
)
from haven.trials import services
from haven.trials.models import Kit, Randomization, Study

pytestmark = pytest.mark.django_db
ARM_LABEL = "MDMA-assisted therapy (verum)"
PLACEBO_LABEL = "Inactive placebo with therapy"


def _form(cast: Cast, **overrides: object) -> dict[str, object]:
    """A filled-in setup form: two arms, the second the control, Dana the statistician."""
    data: dict[str, object] = {
        "protocol_code": "mdma-ptsd",
        "title": "MAPP-style study",
        "arms-TOTAL_FORMS": "4",
        "arms-INITIAL_FORMS": "0",
        "arms-MIN_NUM_FORMS": "0",
        "arms-MAX_NUM_FORMS": "4",
        "arms-0-code": "MDMA",
        "arms-0-label": ARM_LABEL,
        "arms-0-ratio": "2",
        "arms-1-code": "PBO",
        "arms-1-label": PLACEBO_LABEL,
        "arms-1-ratio": "1",
        "arms-2-ratio": "1",
        "arms-3-ratio": "1",
        "control": "1",
        "factors": "site, dissociative",
        "block_multiples": "1, 2",
        "statisticians": [str(cast.dana.pk)],
    }
    return data | overrides


def _study(cast: Cast) -> Study:
    return services.study_create(
        actor=actor_of(cast.dana),
        protocol_code="mdma-ptsd",
        title="MAPP-style study",
        arms=[
            {"code": "MDMA", "label": ARM_LABEL, "ratio": 1},
            {"code": "PBO", "label": PLACEBO_LABEL, "ratio": 1, "control": True},
        ],
        factors=["site"],
        statisticians=[cast.dana],
    )


def _csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("kits.csv", text.encode(), content_type="text/csv")


def test_a_data_manager_sets_up_a_study_through_the_form(cast: Cast) -> None:
    load_shipped_protocol()
    client = client_for(cast.dana)
    page = client.get("/studies/new/").content.decode()
    assert 'value="mdma-ptsd"' in page  # the protocols Haven knows
    assert cast.dana.printed_name in page  # the data managers who may be named statisticians
    response = client.post("/studies/new/", _form(cast))
    assert response.status_code == 302
    assert response["Location"] == "/studies/mdma-ptsd/"
    study = Study.objects.get()
    assert (study.protocol_code, study.title) == ("mdma-ptsd", "MAPP-style study")
    assert study.arms == [
        {"code": "MDMA", "label": ARM_LABEL, "ratio": 2, "control": False},
        {"code": "PBO", "label": PLACEBO_LABEL, "ratio": 1, "control": True},
    ]
    assert (study.factors, study.block_multiples) == (["site", "dissociative"], [1, 2])
    assert list(study.unblinded_statisticians.all()) == [cast.dana]
    assert services.control_arm(study) == "PBO"
    assert AuditEntry.objects.filter(record_type="trials.study", record_id=str(study.public_id)).count() == 1
    summary = client.get("/studies/mdma-ptsd/").content.decode()
    assert "Study mdma-ptsd set up." in summary
    assert ARM_LABEL in summary
    assert "2:1" in summary
    assert "/studies/mdma-ptsd/report/" in summary
    listing = client.get("/studies/").content.decode()
    assert "MAPP-style study" in listing
    assert 'href="/studies/mdma-ptsd/"' in listing


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"arms-1-ratio": "0"}, "Arms: each ratio is a whole number from 1 to 10"),
        ({"arms-1-code": "MDMA"}, "Arms: at least two arms, each with its own code"),
        (
            {"arms-1-code": "", "arms-1-label": "", "arms-1-ratio": "1", "control": "0"},
            "Arms: at least two arms, each with its own code",
        ),
        ({"block_multiples": "1, 9"}, "whole numbers from 1 to 6"),
        ({"unblinded_roles": ["blinded_rater"]}, "a blinded rater is never unblinded"),
        ({"control": "3"}, "Control arm: choose one of the arms you filled in"),
    ],
)
def test_bad_input_names_the_rule_next_to_the_field_and_creates_nothing(
    cast: Cast, change: dict[str, object], message: str
) -> None:
    load_shipped_protocol()
    response = client_for(cast.dana).post("/studies/new/", _form(cast, **change))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Study.objects.exists()
    assert not AuditEntry.objects.filter(record_type="trials.study").exists()


def test_a_second_study_of_the_same_protocol_is_refused_at_the_protocol_field(cast: Cast) -> None:
    load_shipped_protocol()
    _study(cast)
    response = client_for(cast.dana).post("/studies/new/", _form(cast, title="Again"))
    assert response.status_code == 409
    page = response.content.decode()
    assert "This protocol already has a study." in page
    assert page.index("This protocol already has a study.") < page.index('name="title"')  # at the protocol
    assert list(Study.objects.values_list("title", flat=True)) == ["MAPP-style study"]


def test_only_data_managers_may_set_up_a_study(cast: Cast) -> None:
    load_shipped_protocol()
    for user in (cast.carmen, cast.riley, cast.oscar):
        response = client_for(user).post("/studies/new/", _form(cast))
        assert response.status_code == 403
        assert "needs the data manager / statistician role" in response.content.decode()
        assert client_for(user).get("/studies/new/").status_code == 403
    assert not Study.objects.exists()
    # Only data managers of one's own sites may be named: someone else is not a valid choice.
    response = client_for(cast.dana).post("/studies/new/", _form(cast, statisticians=[str(cast.alice.pk)]))
    assert response.status_code == 422
    assert "Select a valid choice." in response.content.decode()
    assert not Study.objects.exists()


def test_a_statistician_loads_kits_as_csv_and_sees_counts_per_arm(cast: Cast) -> None:
    study = _study(cast)
    client = client_for(cast.dana)
    text = "kit number,arm,site\nK-001,MDMA,ALD\nK-002,PBO,ALD\nK-003,MDMA,BIR\n"
    response = client.post("/studies/mdma-ptsd/kits/", {"file": _csv(text), "site": ""})
    assert response.status_code == 302
    assert sorted(Kit.objects.filter(study=study).values_list("number", "arm", "site__code")) == [
        ("K-001", "MDMA", "ALD"),
        ("K-002", "PBO", "ALD"),
        ("K-003", "MDMA", "BIR"),
    ]
    changes = AuditEntry.objects.get(record_type="trials.kitlist").changes
    assert changes == {"kits": {"old": None, "new": 3}}
    page = client.get("/studies/mdma-ptsd/").content.decode()
    assert "3 kits loaded." in page
    assert "Alder Clinic (ALD)" in page
    assert "Birch Unit (BIR)" in page
    assert "ALD · MDMA" in page
    assert "ALD · PBO" in page
    # Rows that name no site take the one chosen on the form.
    more = client.post(
        "/studies/mdma-ptsd/kits/", {"file": _csv("K-004,PBO\n"), "site": str(cast.site_a.public_id)}
    )
    assert more.status_code == 302
    assert Kit.objects.get(number="K-004").site == cast.site_a


def test_a_bad_kit_row_is_named_by_its_number_and_nothing_is_loaded(cast: Cast) -> None:
    _study(cast)
    client = client_for(cast.dana)
    text = "kit,arm,site\nK-001,MDMA,ALD\nK-002,PBO,ALD\nK-003,ACTIVE,ALD\n"
    response = client.post("/studies/mdma-ptsd/kits/", {"file": _csv(text)})
    assert response.status_code == 422
    assert "row 3: unknown arm" in response.content.decode()
    assert not Kit.objects.exists()
    twice = client.post(
        "/studies/mdma-ptsd/kits/", {"file": _csv("K-001,MDMA,ALD\nK-002,PBO,ALD\nK-001,PBO,ALD\n")}
    )
    assert twice.status_code == 422
    assert "row 3: kit number K-001 is also on row 1" in twice.content.decode()
    unknown_site = client.post("/studies/mdma-ptsd/kits/", {"file": _csv("K-001,MDMA,ALD\nK-002,PBO,XYZ\n")})
    assert unknown_site.status_code == 422
    assert "row 2: no site XYZ" in unknown_site.content.decode()
    assert not Kit.objects.exists()
    assert not AuditEntry.objects.filter(record_type="trials.kitlist").exists()


def test_only_the_studys_statisticians_load_kits(cast: Cast) -> None:
    _study(cast)
    other = make_user("dora", "Dora Data")
    grant(other, cast.site_a, Role.DATA_MANAGER)  # a data manager, not this study's statistician
    page = client_for(other).get("/studies/mdma-ptsd/").content.decode()
    assert "Load the sponsor's kit list" not in page
    response = client_for(other).post("/studies/mdma-ptsd/kits/", {"file": _csv("K-001,MDMA,ALD\n")})
    assert response.status_code == 403
    assert "unblinded statisticians load the kit list." in response.content.decode()
    assert not Kit.objects.exists()


def _randomized(cast: Cast, study: Study) -> Randomization:
    services.kits_load(
        actor=actor_of(cast.dana),
        study=study,
        rows=[("K-001", "MDMA", cast.site_a), ("K-002", "PBO", cast.site_a)],
    )
    course = make_enrolled_course(
        cast, enrolled_on=date.today() - timedelta(days=3), patient=make_patient(cast, given_name="Rowan")
    )
    return services.randomize(actor=actor_of(cast.carmen), course=course)


def test_a_blinded_user_never_sees_an_arm_on_these_pages(cast: Cast) -> None:
    study = _study(cast)
    randomization = _randomized(cast, study)
    arm_label = next(a["label"] for a in study.arms if a["code"] == randomization.slot.arm)
    pages = ("/studies/", "/studies/mdma-ptsd/", "/studies/new/", "/studies/no-such-study/")
    for blinded in (cast.riley, cast.alice, cast.carmen, cast.priya, cast.sam, cast.oscar):
        for url in pages:
            response = client_for(blinded).get(url)
            body = response.content.decode()
            assert response.status_code == 403, (blinded.username, url)
            assert "Not allowed" in body
            assert arm_label not in body
            # As a word: the page's random CSRF token may hold the letters by chance.
            assert not re.search(rf"\b{randomization.slot.arm}\b", body)
        # Nor is there a way in from the navigation.
        assert 'href="/studies/"' not in client_for(blinded).get("/").content.decode()
    # A data manager who is not the study's statistician sees the design (arm labels are design
    # facts) and counts, but nothing that ties a patient or a kit to an arm.
    other = make_user("dora", "Dora Data")
    grant(other, cast.site_a, Role.DATA_MANAGER)
    page = client_for(other).get("/studies/mdma-ptsd/").content.decode()
    assert f"site={cast.site_a.code}" in page
    assert "Randomized" in page
    assert "ALD · MDMA" not in page
    assert "ALD · PBO" not in page
    assert randomization.course.patient.study_id not in page
    assert randomization.kit is not None
    assert randomization.kit.number not in page
    assert "/studies/mdma-ptsd/report/" not in page
    assert 'href="/studies/"' in client_for(other).get("/").content.decode()
    # The statistician sees kits per arm; still no patient, because the summary holds counts only.
    mine = client_for(cast.dana).get("/studies/mdma-ptsd/").content.decode()
    assert f"ALD · {randomization.slot.arm}" in mine
    assert randomization.course.patient.study_id not in mine


def test_the_summary_counts_randomized_patients_per_stratum_and_kits_assigned(cast: Cast) -> None:
    study = _study(cast)
    _randomized(cast, study)
    page = client_for(cast.dana).get("/studies/mdma-ptsd/").content.decode()
    assert f"<tr><td>site={cast.site_a.code}</td><td>1</td></tr>" in page
    assert "<tr><td>Alder Clinic (ALD)</td><td>2</td><td>1</td></tr>" in page
    listing = client_for(cast.dana).get("/studies/").content.decode()
    assert "MAPP-style study</a></td><td>1</td>" in listing  # one randomized
    assert 'href="/studies/mdma-ptsd/report/">Report</a>' in listing  # for the study's statistician
    # A data manager of another site counts the randomized patients of their own sites: none.
    birch = make_user("bea", "Bea Birch")
    grant(birch, cast.site_b, Role.DATA_MANAGER)
    theirs = client_for(birch).get("/studies/").content.decode()
    assert "MAPP-style study</a></td><td>0</td>" in theirs
    assert "/report/" not in theirs
    summary = client_for(birch).get("/studies/mdma-ptsd/").content.decode()
    assert "No one randomized yet." in summary
    assert "Alder Clinic" not in summary
    missing = client_for(birch).get("/studies/no-such-study/")
    assert missing.status_code == 404
    assert "No study with this protocol code." in missing.content.decode()


def test_a_tampered_arm_row_count_is_refused_on_the_page(cast: Cast) -> None:
    load_shipped_protocol()
    response = client_for(cast.dana).post("/studies/new/", _form(cast, **{"arms-TOTAL_FORMS": "1"}))
    assert response.status_code == 422
    page = response.content.decode()
    assert "Control arm: choose one of the arms you filled in" in page  # arm 2 never arrived
    assert 'name="arms-0-code"' in page
    assert 'name="arms-1-code"' not in page
    assert not Study.objects.exists()
