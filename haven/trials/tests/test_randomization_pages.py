"""The randomization page: a coordinator randomizes from the patient's chart (the factor asked for,
the kit shown, the arm never), refusals are shown beside the field and change nothing, and a
physician unblinds one patient with a signature."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from haven.core.testing import PASSWORD, Cast, actor_of, client_for, make_enrolled_course, otp_code
from haven.patients.models import EnrollmentCourse
from haven.trials import services
from haven.trials.models import Randomization, Study, Unblinding

pytestmark = pytest.mark.django_db
ARMS = [
    {"code": "ZETAQ", "label": "Zetaquil capsule", "ratio": 1},
    {"code": "OMEGAV", "label": "Omegavir capsule", "ratio": 1, "control": True},
]


def _setup(cast: Cast) -> tuple[Study, EnrollmentCourse]:
    study = services.study_create(
        actor=actor_of(cast.dana),
        protocol_code="mdma-ptsd",
        title="Page study",
        arms=ARMS,
        factors=["site", "dissociative"],
        statisticians=[cast.dana],
    )
    services.kits_load(
        actor=actor_of(cast.dana),
        study=study,
        rows=[
            (f"K-{n}", arm, cast.site_a)
            for n, arm in ((1, "ZETAQ"), (2, "OMEGAV"), (3, "ZETAQ"), (4, "OMEGAV"))
        ],
    )
    return study, make_enrolled_course(cast, enrolled_on=date.today() - timedelta(days=2))


def test_a_coordinator_randomizes_from_the_chart_and_sees_the_kit_not_the_arm(cast: Cast) -> None:
    _, course = _setup(cast)
    url = f"/courses/{course.public_id}/randomization/"
    coordinator = client_for(cast.carmen)
    chart = coordinator.get(f"/patients/{course.patient.public_id}/").content.decode()
    assert f'href="{url}"' in chart
    page = coordinator.get(url).content.decode()
    assert 'name="dissociative"' in page
    # Without the factor: refused beside the field, nothing stored.
    refused = coordinator.post(url, {"dissociative": ""})
    assert refused.status_code == 422
    assert "This field is required." in refused.content.decode()
    assert not Randomization.objects.exists()
    done = coordinator.post(url, {"dissociative": "yes"}, follow=True)
    randomization = Randomization.objects.get(course=course)
    html = done.content.decode()
    assert randomization.factors == {"dissociative": "yes"}
    assert randomization.kit is not None
    assert f"<strong>{randomization.kit.number}</strong>" in html
    assert "<dt>Arm</dt><dd>concealed</dd>" in html
    assert "ZETAQ" not in html
    assert "OMEGAV" not in html
    # A second try is refused with the service's words and changes nothing.
    again = coordinator.post(url, {"dissociative": "no"})
    assert again.status_code == 409
    assert "This patient is already randomized." in again.content.decode()
    assert Randomization.objects.count() == 1


def test_a_blinded_rater_sees_no_form_and_no_arm(cast: Cast) -> None:
    _, course = _setup(cast)
    services.randomize(actor=actor_of(cast.carmen), course=course, factors={"dissociative": "no"})
    html = client_for(cast.riley).get(f"/courses/{course.public_id}/randomization/").content.decode()
    assert "<dt>Arm</dt><dd>concealed</dd>" in html
    assert "Sign and unblind" not in html
    assert "ZETAQ" not in html
    assert "OMEGAV" not in html


def test_a_physician_unblinds_one_patient_with_a_signature(cast: Cast) -> None:
    _, course = _setup(cast)
    randomization = services.randomize(
        actor=actor_of(cast.carmen), course=course, factors={"dissociative": "no"}
    )
    url = f"/courses/{course.public_id}/randomization/unblind/"
    physician = client_for(cast.priya)
    assert "Sign and unblind" in physician.get(f"/courses/{course.public_id}/randomization/").content.decode()
    wrong = physician.post(
        url, {"reason": "serotonin syndrome suspected", "password": "wrong", "otp_code": "1"}
    )
    assert wrong.status_code == 403
    assert not Unblinding.objects.exists()
    assert randomization.slot.arm not in wrong.content.decode()
    no_reason = physician.post(url, {"reason": "", "password": PASSWORD, "otp_code": otp_code(cast.priya)})
    assert no_reason.status_code == 422
    assert not Unblinding.objects.exists()
    done = physician.post(
        url,
        {"reason": "serotonin syndrome suspected", "password": PASSWORD, "otp_code": otp_code(cast.priya)},
        follow=True,
    )
    html = done.content.decode()
    assert f"<strong>{randomization.slot.arm}</strong>" in html
    assert "serotonin syndrome suspected" in html
    assert Unblinding.objects.get().physician == cast.priya
    # A therapist cannot: the service refuses, and the page says so without the arm.
    refused = client_for(cast.alice).post(url, {"reason": "curious", "password": PASSWORD, "otp_code": ""})
    assert refused.status_code == 403
    assert randomization.slot.arm not in refused.content.decode()
