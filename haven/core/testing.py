"""The shared test cast and builders. Imported only by tests.

Site A ("Alder Clinic") has staff in every role; site B ("Birch Unit") has Oscar, the outsider.
Everyone's password is ``PASSWORD``. Staff in signing roles have a confirmed authenticator whose
current code ``otp_code(user)`` gives; nobody here is a demo account, so MFA is enforced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page

from haven.accounts.actors import user_actor
from haven.accounts.middleware import GENERATION_KEY, SEEN_KEY
from haven.accounts.models import Role, Site, SiteMembership, StaffCredential, User
from haven.audit.context import Actor
from haven.patients.models import ConsentDocument, EnrollmentCourse, Patient, Visit
from haven.patients.services import (
    consent_current_document,
    consent_document_activate,
    consent_document_upload,
    consent_record,
    course_enroll,
    course_open,
    course_transition,
    patient_register,
)
from haven.protocols.loader import SHIPPED_DIR
from haven.protocols.models import ProtocolVersion
from haven.protocols.services import protocol_load

if TYPE_CHECKING:
    from haven.dosing.models import DosingSession

PASSWORD = "correct horse battery staple 42"


@dataclass(frozen=True)
class Cast:
    site_a: Site
    site_b: Site
    alice: User  # lead therapist, site A
    ben: User  # co-therapist, site A
    priya: User  # physician, site A
    carmen: User  # coordinator, site A
    pat: User  # pharmacist, site A
    riley: User  # blinded rater, site A
    dana: User  # data manager, site A
    sam: User  # sponsor monitor, site A (no signing role, no MFA)
    avery: User  # auditor, site A (no signing role, no MFA)
    morgan: User  # site administrator, site A
    oscar: User  # therapist and site administrator at site B: the outsider


def make_site(**overrides: Any) -> Site:
    values = {"name": "Alder Clinic", "code": "ALD", "time_zone": "America/Chicago"} | overrides
    return Site.objects.create(**values)


def make_user(username: str, printed_name: str, *, mfa: bool = True, **overrides: Any) -> User:
    user = User.objects.create_user(
        username=username,
        email=f"{username}@example.test",
        password=PASSWORD,
        printed_name=printed_name,
        **overrides,
    )
    if mfa:
        TOTPDevice.objects.create(user=user, name="test", confirmed=True, tolerance=10)
    return user


def grant(user: User, site: Site, *roles: Role) -> None:
    for role in roles:
        SiteMembership.objects.create(user=user, site=site, role=role)


def make_credential(user: User, site: Site, **overrides: Any) -> StaffCredential:
    values: dict[str, Any] = {
        "kind": "licence",
        "title": "Licensed clinical psychologist",
        "identifier": "PSY-1234",
        "issuer": "State Board of Psychology",
        "valid_from": date(2025, 1, 1),
        "valid_until": date(2027, 12, 31),
    } | overrides
    return StaffCredential.objects.create(user=user, site=site, **values)


def make_cast() -> Cast:
    with transaction.atomic():
        site_a = make_site()
        site_b = make_site(name="Birch Unit", code="BIR", time_zone="Europe/London")
        people: dict[str, User] = {}
        for username, name, role, mfa in (
            ("alice", "Dr Alice Adams", Role.THERAPIST, True),
            ("ben", "Ben Okafor", Role.THERAPIST, True),
            ("priya", "Dr Priya Natarajan", Role.PHYSICIAN, True),
            ("carmen", "Carmen Liu", Role.COORDINATOR, True),
            ("pat", "Pat Kowalski", Role.PHARMACIST, True),
            ("riley", "Riley Brennan", Role.BLINDED_RATER, True),
            ("dana", "Dana Whitfield", Role.DATA_MANAGER, True),
            ("sam", "Sam Osei", Role.SPONSOR_MONITOR, False),
            ("avery", "Avery Holm", Role.AUDITOR, False),
            ("morgan", "Morgan Reyes", Role.SITE_ADMIN, True),
        ):
            people[username] = make_user(username, name, mfa=mfa)
            grant(people[username], site_a, role)
        oscar = make_user("oscar", "Oscar Lindqvist")
        grant(oscar, site_b, Role.THERAPIST, Role.SITE_ADMIN)
    return Cast(site_a=site_a, site_b=site_b, oscar=oscar, **people)


def otp_code(user: User) -> str:
    """The code ``user``'s authenticator shows for the next window the server has not yet seen.

    A code is accepted once only, so a test that signs several times in the same 30 seconds takes
    the next window's code each time; the test devices allow that much drift (``tolerance``).
    """
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    current = int((time.time() - device.t0) // device.step)
    window = max(current, device.last_t + 1)
    t0 = device.t0 - (window - current) * device.step
    return f"{totp(device.bin_key, step=device.step, t0=t0, digits=device.digits):0{device.digits}d}"


def client_for(user: User) -> Client:
    """A browser session that has completed login (password and second factor)."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[GENERATION_KEY] = user.session_generation
    session[SEEN_KEY] = int(time.time())
    session.save()
    return client


def actor_of(user: User) -> Actor:
    return user_actor(user, ip="127.0.0.1")


# Patients ---------------------------------------------------------------------------------------
SAMPLE_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SAMPLE_SIGNATURE = "M 10 10 L 40 30 L 80 12 Q 100 40 120 20"


def load_shipped_protocol(code: str = "mdma-ptsd") -> ProtocolVersion:
    """The shipped protocol ``code`` loaded into the database (a ProtocolVersion)."""
    path = SHIPPED_DIR / f"{code}.yaml"
    return protocol_load(actor=Actor.system("test"), text=path.read_text(), source=path.name).version


def make_patient(cast: Cast, **identity: Any) -> Patient:
    values: dict[str, Any] = {
        "given_name": "Jordan",
        "family_name": "Example",
        "date_of_birth": date(1985, 4, 12),
        "phone": "+1 555 0100",
    } | identity
    sex = values.pop("sex_at_birth", "female")
    return patient_register(actor=actor_of(cast.carmen), site=cast.site_a, sex_at_birth=sex, **values)


def make_active_consent_document(cast: Cast, version: ProtocolVersion, label: str = "v1") -> ConsentDocument:
    document = consent_document_upload(
        actor=actor_of(cast.carmen),
        site=cast.site_a,
        protocol_version=version,
        version_label=label,
        title="Consent to MDMA-assisted therapy",
        content=SAMPLE_PDF,
        filename="consent.pdf",
    )
    return consent_document_activate(actor=actor_of(cast.carmen), document=document)


def make_eligible_screening(cast: Cast, course: EnrollmentCourse) -> None:
    """Screening data meeting every criterion of the shipped mdma-ptsd protocol, through the services."""
    from datetime import UTC, datetime

    from haven.screening import services as screening

    coordinator = actor_of(cast.carmen)
    at = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    screening.history_add(
        actor=coordinator,
        course=course,
        condition="PTSD",
        category="psychiatric",
        code="ptsd",
        onset=date(2019, 5, 1),
    )
    for section in ("medical_history", "psychiatric_history", "medications"):
        screening.section_mark(actor=coordinator, course=course, section=section, complete=True)
    for field, value, unit in (
        ("caps5_total", 39, "{score}"),
        ("systolic_bp", 128, "mm[Hg]"),
        ("systolic_bp", 124, "mm[Hg]"),
        ("diastolic_bp", 82, "mm[Hg]"),
        ("diastolic_bp", 80, "mm[Hg]"),
        ("qtc", 431, "ms"),
        ("alt", 28, "U/L"),
        ("ast", 24, "U/L"),
        ("bilirubin", 10, "umol/L"),
    ):
        screening.measurement_add(
            actor=coordinator, course=course, field=field, value=value, unit=unit, measured_at=at
        )
    screening.flag_set(actor=coordinator, course=course, name="pregnancy_test_positive", value=False)
    screening.flag_set(actor=coordinator, course=course, name="lactating", value=False)
    screening.cssrs_set(actor=coordinator, course=course, risk="low")


def make_enrolled_course(
    cast: Cast, *, enrolled_on: date, patient: Patient | None = None
) -> EnrollmentCourse:
    """A patient taken from candidate to enrolled on mdma-ptsd, through the real services."""
    version = load_shipped_protocol()
    patient = patient or make_patient(cast)
    document = consent_current_document(site=cast.site_a, protocol_code=version.code)
    document = document or make_active_consent_document(cast, version)
    coordinator, physician = actor_of(cast.carmen), actor_of(cast.priya)
    course = course_open(actor=coordinator, patient=patient, protocol_version=version)
    course = course_transition(actor=coordinator, course=course, to="screening")
    make_eligible_screening(cast, course)
    course = course_transition(actor=physician, course=course, to="eligible")
    consent_record(
        actor=coordinator,
        course=course,
        document=document,
        patient_printed_name="Jordan Example",
        patient_signature_svg=SAMPLE_SIGNATURE,
        password=PASSWORD,
        otp_code=otp_code(cast.carmen),
    )
    course.refresh_from_db()
    return course_enroll(actor=coordinator, course=course, enrolled_on=enrolled_on)


def sign_in(page: Page, url: str, username: str, code: str) -> None:
    """Sign in through the real login pages of a browser tab: password, then authenticator code."""
    page.goto(f"{url}/login/")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Authenticator code").fill(code)
    page.get_by_role("button", name="Verify and sign in").click()


def make_dosed_session(cast: Cast, *, dosed_at: datetime) -> DosingSession:
    """Dose 1 of a course enrolled on 1 October 2026, through the real services: the checklist
    confirmed, the dyad checked in, a full pre-dose baseline (SUDS 4) 15 minutes before
    ``dosed_at``, and 120 mg given then, witnessed by Ben's signature."""
    from haven.dosing import services as dosing
    from haven.dosing.models import DosingSession

    course = make_enrolled_course(cast, enrolled_on=date(2026, 10, 1))
    make_credential(cast.alice, cast.site_a)
    make_credential(cast.ben, cast.site_a, identifier="PSY-2")
    alice = actor_of(cast.alice)
    session = dosing.session_open(actor=alice, visit=Visit.objects.get(course=course, code="dose1"))
    for item in ("vitals", "pregnancy", "medications", "cssrs", "escort", "touch-consent", "equipment"):
        dosing.checklist_answer(actor=alice, session=session, code=item, done=True)
    dosing.presence_check_in(actor=alice, session=session, user=cast.alice, role=Role.THERAPIST, is_lead=True)
    dosing.presence_check_in(actor=alice, session=session, user=cast.ben, role=Role.THERAPIST)
    dosing.vitals_record(
        actor=alice,
        session=session,
        values={
            "systolic_bp": (122, "mm[Hg]"),
            "diastolic_bp": (78, "mm[Hg]"),
            "heart_rate": (70, "/min"),
            "temperature": ("36.8", "Cel"),
            "suds": (4, "{score}"),
        },
        observed_at=dosed_at - timedelta(minutes=15),
    )
    dosing.dose_administer(
        actor=alice,
        session=session,
        kind="initial",
        amount=Decimal(120),
        lot="MDMA-2611-A",
        administered_at=dosed_at,
        witness=cast.ben,
        witness_password=PASSWORD,
        witness_otp_code=otp_code(cast.ben),
    )
    return DosingSession.objects.get(pk=session.pk)
