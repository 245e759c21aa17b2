"""The patient registry: study IDs, identifying data kept apart, duplicates, audited views."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connections

from haven.audit.models import AuditEntry
from haven.core.errors import PermissionDenied, ValidationFailed
from haven.core.testing import Cast, actor_of, make_cast, make_patient
from haven.patients.models import Patient, PatientIdentity
from haven.patients.services import patient_identity_update, patient_identity_view, patient_register

pytestmark = pytest.mark.django_db


def test_study_ids_are_the_site_prefix_and_a_sequence(cast: Cast) -> None:
    first = make_patient(cast)
    second = make_patient(cast, given_name="Sam", family_name="Other", date_of_birth=date(1990, 1, 1))
    assert (first.study_id, second.study_id) == ("ALD-0001", "ALD-0002")


def test_identifying_data_lives_apart_and_both_are_audited(cast: Cast) -> None:
    patient = make_patient(cast)
    identity = PatientIdentity.objects.get(patient=patient)
    assert (identity.given_name, identity.family_name, identity.date_of_birth) == (
        "Jordan",
        "Example",
        date(1985, 4, 12),
    )
    created = AuditEntry.objects.filter(action="create").values_list("record_type", flat=True)
    assert set(created) == {"patients.patient", "patients.patientidentity"}
    assert "Jordan" not in str(Patient.objects.filter(pk=patient.pk).values().get())


def test_a_possible_duplicate_is_flagged_not_refused(cast: Cast) -> None:
    first = make_patient(cast)
    again = make_patient(cast, given_name="J.", family_name="EXAMPLE")  # same family name and birth date
    assert again.possible_duplicate_of == first
    other = make_patient(cast, given_name="Alex", family_name="Different", date_of_birth=date(1970, 1, 1))
    assert other.possible_duplicate_of is None


def test_registration_needs_a_registering_role_and_changes_nothing_otherwise(cast: Cast) -> None:
    with pytest.raises(PermissionDenied, match="Registering a patient needs one of these roles"):
        patient_register(
            actor=actor_of(cast.alice),
            site=cast.site_a,
            sex_at_birth="male",
            given_name="A",
            family_name="B",
            date_of_birth=date(1980, 1, 1),
        )
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"date_of_birth": date(2999, 1, 1)}, "date_of_birth", "cannot be in the future"),
        ({"date_of_birth": date(1850, 1, 1)}, "date_of_birth", "must be in 1900 or later"),
        ({"family_name": "  "}, "family_name", "is required"),
        ({"email": "not-an-address"}, "email", "must be a valid e-mail address"),
        ({"sex_at_birth": "robot"}, "sex_at_birth", "must be one of female, male, intersex, unknown"),
    ],
)
def test_bad_registration_input_names_the_field_and_changes_nothing(
    cast: Cast, changes: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        make_patient(cast, **changes)
    assert refused.value.fields == {field: [message]}
    assert not Patient.objects.exists()
    assert not AuditEntry.objects.exists()


def test_every_view_of_identifying_data_is_audited(cast: Cast) -> None:
    patient = make_patient(cast)
    identity = patient_identity_view(
        actor=actor_of(cast.alice), patient=patient, purpose="call before session"
    )
    assert identity.given_name == "Jordan"
    view = AuditEntry.objects.get(action="view")
    assert (view.actor_user, view.record_type) == (cast.alice, "patients.patientidentity")
    assert view.changes["patient"]["new"] == "ALD-0001"
    assert view.changes["purpose"]["new"] == "call before session"


@pytest.mark.parametrize("who", ["riley", "pat", "dana", "sam", "avery"])
def test_roles_without_need_cannot_see_identifying_data(cast: Cast, who: str) -> None:
    patient = make_patient(cast)
    with pytest.raises(PermissionDenied):
        patient_identity_view(actor=actor_of(getattr(cast, who)), patient=patient)
    assert not AuditEntry.objects.filter(action="view").exists()


def test_identity_changes_need_a_reason_and_keep_old_values(cast: Cast) -> None:
    patient = make_patient(cast)
    with pytest.raises(ValidationFailed, match="reason"):
        patient_identity_update(actor=actor_of(cast.carmen), patient=patient, reason="", phone="+1 555 0199")
    patient_identity_update(
        actor=actor_of(cast.carmen), patient=patient, reason="new number", phone="+1 555 0199"
    )
    entry = AuditEntry.objects.get(action="update")
    assert entry.changes == {"phone": {"old": "+1 555 0100", "new": "+1 555 0199"}}
    assert entry.reason == "new number"


def test_concurrent_registrations_never_share_a_study_id(transactional_db: None) -> None:
    cast = make_cast()
    ids: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def register(n: int) -> None:
        try:
            start.wait()
            for i in range(5):
                ids.append(make_patient(cast, given_name=f"P{n}", family_name=f"F{n}-{i}").study_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(ids) == [f"ALD-{n:04d}" for n in range(1, 21)]
