"""The demo site: synthetic staff in every role, for trying Haven on one machine.

Idempotent: running it again adds only what is missing. Demo accounts are flagged ``is_demo``;
they may skip the second factor outside production, and production refuses to start while any
exist. Every name here is invented.

One patient's first dosing session is under way on the day the demo is first loaded (checklist,
team, baseline, a witnessed initial dose), so ``haven replay-vitals`` has a session to play a
bedside recording into and the board has something to show.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from haven.accounts.actors import user_actor
from haven.accounts.models import CredentialKind, Role, Site, SiteMembership, StaffCredential, TokenKind, User
from haven.accounts.services import (
    credential_create,
    membership_grant,
    site_create,
    token_authenticate,
    token_create,
    user_create,
)
from haven.audit.context import Actor
from haven.core.time import now
from haven.demo.study import demo_study_load
from haven.dosing import services as dosing
from haven.dosing.models import DosingSession, SessionStatus
from haven.inventory import services as ledger
from haven.inventory.models import Registration
from haven.patients.models import EnrollmentCourse, Patient, Visit
from haven.patients.services import (
    consent_current_document,
    consent_document_activate,
    consent_document_upload,
    consent_record,
    course_enroll,
    course_open,
    course_transition,
    patient_register,
    visit_note_save,
    visit_note_sign,
    visit_record_occurrence,
)
from haven.protocols.loader import shipped_protocol_files
from haven.protocols.selectors import protocol_of, protocol_version_get
from haven.protocols.services import protocol_load
from haven.scheduling.selectors import room_list
from haven.scheduling.services import StaffPick, appointment_book, room_create
from haven.screening import services as screening

DEMO_PASSWORD = "haven-demo-password"  # noqa: S105 - published on purpose; demo installs only
DEMO_SITE = ("Haven Demo Clinic", "America/Chicago")
DEMO_SIGNATURE = "M 20 60 C 40 10 60 10 70 50 S 100 90 120 40 L 140 55"
OTHER_SITE = ("Northfield Research Unit", "Europe/London")
# The patient whose first dosing session is under way: the one ``haven replay-vitals`` plays into.
DOSED_PATIENT = ("male", "Tobias", "Reed", date(1987, 5, 14), "+1 555 0105")


@dataclass(frozen=True)
class DemoUser:
    username: str
    printed_name: str
    roles: tuple[Role, ...]
    site: tuple[str, str] = DEMO_SITE


DEMO_USERS = (
    DemoUser("admin", "Morgan Reyes", (Role.SITE_ADMIN, Role.COORDINATOR)),
    DemoUser("lead", "Dr Alice Adams", (Role.THERAPIST,)),
    DemoUser("cotherapist", "Ben Okafor", (Role.THERAPIST,)),
    DemoUser("physician", "Dr Priya Natarajan", (Role.PHYSICIAN,)),
    DemoUser("coordinator", "Carmen Liu", (Role.COORDINATOR,)),
    DemoUser("pharmacist", "Pat Kowalski", (Role.PHARMACIST,)),
    DemoUser("rater", "Riley Brennan", (Role.BLINDED_RATER,)),
    DemoUser("datamanager", "Dana Whitfield", (Role.DATA_MANAGER,)),
    DemoUser("monitor", "Sam Osei", (Role.SPONSOR_MONITOR,)),
    DemoUser("auditor", "Avery Holm", (Role.AUDITOR,)),
    DemoUser("northfield", "Noor Haddad", (Role.THERAPIST, Role.SITE_ADMIN), OTHER_SITE),
)


def demo_load() -> list[DemoUser]:
    if settings.PRODUCTION:
        raise ImproperlyConfigured("haven demo: refused when HAVEN_ENV=production")
    actor = Actor.system("haven demo")
    with transaction.atomic():
        sites: dict[str, Site] = {}
        for name, time_zone in (DEMO_SITE, OTHER_SITE):
            sites[name] = Site.objects.filter(name=name).first() or site_create(
                actor=actor, name=name, time_zone=time_zone
            )
        for demo in DEMO_USERS:
            user = User.objects.filter(username=demo.username).first()
            if user is None:
                user = user_create(
                    actor=actor,
                    username=demo.username,
                    email=f"{demo.username}@demo.haven.invalid",
                    printed_name=demo.printed_name,
                    password=DEMO_PASSWORD,
                    is_demo=True,
                )
            site = sites[demo.site[0]]
            for role in demo.roles:
                if not SiteMembership.objects.filter(user=user, site=site, role=role).exists():
                    membership_grant(actor=actor, site=site, user=user, role=role)
            if (
                Role.THERAPIST in demo.roles
                and not StaffCredential.objects.filter(user=user, site=site).exists()
            ):
                credential_create(
                    actor=Actor(user=user, printed_name=user.printed_name),
                    site=site,
                    holder=user,
                    kind=CredentialKind.LICENCE,
                    title="Licensed clinical psychologist",
                    identifier=f"PSY-{10000 + user.pk}",
                    issuer="State Board of Psychology (demo)",
                    valid_from=date(2024, 1, 1),
                    valid_until=date(2027, 12, 31),
                )
        for path in shipped_protocol_files():
            protocol_load(actor=actor, text=path.read_text(encoding="utf-8"), source=path.name)
        clinic = sites[DEMO_SITE[0]]
        if not Patient.objects.filter(site=clinic).exists():
            _demo_clinic(clinic)
        # Separate from the clinic so that demo databases loaded before sessions existed gain one.
        if not DosingSession.objects.filter(course__site=clinic).exists():
            _demo_session(clinic)
        if not Registration.objects.filter(site=clinic).exists():
            _demo_ledger(clinic)
        # Last, so that everything above is as it was before the demo had a study.
        demo_study_load(clinic, password=DEMO_PASSWORD, signature=DEMO_SIGNATURE)
    return list(DEMO_USERS)


def _demo_ledger(site: Site) -> None:
    """The clinic's controlled-substance ledger: a (fictitious) research registration, the lot the
    demo session's dose came from, its receipt four weeks ago, and the two capsules dispensed to
    the session and tied to its dose, so the lot reconciles. Through the ledger's services."""
    users = {u.username: u for u in User.objects.filter(is_demo=True)}
    pharmacist = user_actor(users["pharmacist"])
    registration = ledger.registration_create(
        actor=pharmacist,
        site=site,
        registrant="Haven Demo Clinic",
        number="RD0000000",
        address="1 Example Street, Springfield (demo)",
        phone="+1 555 0199",
    )
    substance = ledger.substance_create(
        actor=pharmacist, registration=registration, name="MDMA", schedule="I", dea_code="7405"
    )
    safe = ledger.location_create(
        actor=pharmacist,
        site=site,
        name="Safe 1 (pharmacy)",
        description="Bolted steel safe",
        keyholders=[users["pharmacist"]],
    )
    lot = ledger.lot_create(
        actor=pharmacist,
        substance=substance,
        lot_number="MDMA-DEMO-01",
        finished_form="40 mg capsule",
        strength=Decimal(40),
        units_per_container=30,
        expires_on=date(2028, 6, 30),
    )
    today = now().astimezone(ZoneInfo(site.time_zone)).date()
    ledger.receive(
        actor=pharmacist,
        lot=lot,
        location=safe,
        containers=2,
        supplier_name="Example Research Supply (demo)",
        supplier_address="9 Lab Way, Springfield",
        supplier_registration="RS0000000",
        order_form_number="222-DEMO-0001",
        received_on=today - timedelta(days=28),
    )
    session = demo_session()
    if session is None:
        return
    ledger.dispense(actor=pharmacist, lot=lot, location=safe, quantity=2, session=session)
    dose = session.doses.first()
    if dose is not None:
        ledger.administration_record(actor=pharmacist, lot=lot, location=safe, dose=dose)


def demo_session() -> DosingSession | None:
    """The demo's session under monitoring (the newest at the demo clinic not yet discharged)."""
    return (
        DosingSession.objects.filter(course__site__name=DEMO_SITE[0], status=SessionStatus.DOSED)
        .select_related("course__site", "course__patient")
        .order_by("-first_dose_at")
        .first()
    )


def _demo_clinic(site: Site) -> None:
    """Rooms, a consent form and four synthetic patients at different stages, through the services."""
    users = {u.username: u for u in User.objects.filter(is_demo=True)}
    people = {name: user_actor(user) for name, user in users.items()}
    admin, coordinator, physician = people["admin"], people["coordinator"], people["physician"]
    lead = people["lead"]
    rooms = {
        name: room_create(actor=admin, site=site, name=name, kind=kind)
        for name, kind in (
            ("Willow room", "therapy"),
            ("Cedar dosing suite", "dosing"),
            ("Overnight room 1", "overnight"),
            ("Assessment room", "assessment"),
        )
    }
    version = protocol_version_get(code="mdma-ptsd", version="1.0")
    document = consent_document_upload(
        actor=coordinator,
        site=site,
        protocol_version=version,
        version_label="v1 (demo)",
        title="Consent to MDMA-assisted therapy for PTSD",
        content=(Path(__file__).parent / "consent-demo.pdf").read_bytes(),
        filename="consent-demo.pdf",
    )
    consent_document_activate(actor=coordinator, document=document)

    today = now().astimezone(ZoneInfo(site.time_zone)).date()
    patients = [
        patient_register(
            actor=coordinator,
            site=site,
            sex_at_birth=sex,
            given_name=given,
            family_name=family,
            date_of_birth=born,
            phone=phone,
        )
        for sex, given, family, born, phone in (
            ("female", "Quinn", "Harrow", date(1984, 3, 9), "+1 555 0101"),
            ("male", "Elliot", "Marsh", date(1991, 7, 22), "+1 555 0102"),
            ("female", "Rowan", "Vale", date(1978, 11, 2), "+1 555 0103"),
            ("intersex", "Sasha", "Brook", date(1999, 1, 30), "+1 555 0104"),
        )
    ]
    courses = [course_open(actor=coordinator, patient=p, protocol_version=version) for p in patients[:3]]
    for course in courses:
        course_transition(actor=coordinator, course=course, to="screening")
    # Quinn and Elliot: complete screenings that meet the criteria; Rowan: half-done (incomplete).
    for course, caps5, qtc in ((courses[0], 41, 432), (courses[1], 33, 418)):
        _screen(coordinator, course, caps5=caps5, qtc=qtc, complete=True)
        course_transition(actor=physician, course=course, to="eligible")
    _screen(coordinator, courses[2], caps5=36, qtc=None, complete=False)

    # Quinn: consented, enrolled three weeks ago, two preparation sessions documented.
    enrolled = courses[0]
    consent_record(
        actor=coordinator,
        course=enrolled,
        document=document,
        patient_printed_name="Quinn Harrow",
        patient_signature_svg=DEMO_SIGNATURE,
        password=DEMO_PASSWORD,
    )
    enrolled = course_enroll(actor=coordinator, course=enrolled, enrolled_on=today - timedelta(days=21))
    visits = {v.code: v for v in enrolled.visits.all()}
    visit_record_occurrence(
        actor=coordinator, visit=visits["baseline"], occurred_on=today - timedelta(days=21)
    )
    for code, days_ago, sections in (
        (
            "prep1",
            14,
            {
                "Education given": "Course of treatment, what a session is like, overnight stay.",
                "Intentions": "Wants to sleep through the night again and reconnect with family.",
                "Touch consent discussed": "Hand on shoulder only, on request.",
            },
        ),
        (
            "prep2",
            7,
            {
                "Safety plan": "Crisis line, partner as contact, daily check-in calls agreed.",
                "Plan until the next visit": "Journal, grounding exercises.",
            },
        ),
    ):
        _documented(lead, visits[code], today - timedelta(days=days_ago), sections)
    dyad = [
        StaffPick(users["lead"], Role.THERAPIST, is_lead=True),
        StaffPick(users["cotherapist"], Role.THERAPIST),
    ]
    tz = ZoneInfo(site.time_zone)
    for code, room, hours in (
        ("prep3", "Willow room", (14, 15, 30)),
        ("dose1", "Cedar dosing suite", (9, 17, 0)),
    ):
        visit = visits[code]
        day = max(visit.target_date, today + timedelta(days=1))
        starts = datetime.combine(day, time(hours[0]), tzinfo=tz)
        ends = datetime.combine(day, time(hours[1], hours[2]), tzinfo=tz)
        appointment_book(
            actor=coordinator,
            visit=visit,
            room=rooms[room],
            starts_at=starts,
            ends_at=ends,
            staff=dyad,
            outside_window_reason="" if visit.window_earliest <= day <= visit.window_latest else "demo",
        )


REPLAY_TOKEN_NAME = "Demo vital-sign replay"  # noqa: S105 - a name, not a secret


def replay_device_token(*, site: Site, store: Path) -> tuple[str, bool]:
    """The secret of a live device token for ``site``: the one kept in ``store`` if it still works,
    else a new one created by a site administrator and kept there (owner-readable only) for the
    next replay. Returns the secret and whether it was created now. Nothing is ever revoked here.
    """
    try:
        kept = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kept = {}
    secret = kept.get("secret") if isinstance(kept, dict) else None
    if isinstance(secret, str) and kept.get("site") == str(site.public_id):
        token = token_authenticate(secret=secret)
        if token is not None and token.kind == TokenKind.DEVICE and token.site_id == site.pk:
            return secret, False
    admin = (
        User.objects.filter(is_active=True, memberships__site=site, memberships__role=Role.SITE_ADMIN)
        .order_by("-is_demo", "pk")
        .first()
    )
    if admin is None:
        raise ImproperlyConfigured(f"{site.name} has no site administrator to create a device token")
    issued = token_create(actor=user_actor(admin), kind=TokenKind.DEVICE, name=REPLAY_TOKEN_NAME, site=site)
    store.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(store, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"site": str(site.public_id), "secret": issued.secret}, handle)
    return issued.secret, True


def _documented(lead: Actor, visit: Visit, day: date, sections: dict[str, str]) -> None:
    """Record that the dyad saw the patient on ``day``, with a signed note."""
    dyad = {u.username: u for u in User.objects.filter(is_demo=True, username__in=("lead", "cotherapist"))}
    visit_record_occurrence(actor=lead, visit=visit, occurred_on=day)
    note = visit_note_save(
        actor=lead,
        visit=visit,
        sections=sections,
        free_text="Engaged and settled.",
        attendees=[dyad["lead"], dyad["cotherapist"]],
        duration_minutes=90,
    )
    visit_note_sign(actor=lead, note=note, password=DEMO_PASSWORD)


def _demo_session(site: Site) -> DosingSession:
    """Tobias: enrolled four weeks ago, prepared, and in his first dosing session today: the setting
    recorded, a pre-dose baseline, the checklist confirmed, the dyad present, and an 80 mg initial
    dose twenty minutes ago witnessed by the co-therapist's signature. All through the services."""
    users = {u.username: u for u in User.objects.filter(is_demo=True)}
    coordinator, physician = user_actor(users["coordinator"]), user_actor(users["physician"])
    lead = user_actor(users["lead"])
    version = protocol_version_get(code="mdma-ptsd", version="1.0")
    document = consent_current_document(site=site, protocol_code=version.code)
    if document is None:  # pragma: no cover - the clinic above always activates one
        raise ImproperlyConfigured("haven demo: the demo clinic has no consent document")
    today = now().astimezone(ZoneInfo(site.time_zone)).date()
    sex, given, family, born, phone = DOSED_PATIENT
    patient = patient_register(
        actor=coordinator,
        site=site,
        sex_at_birth=sex,
        given_name=given,
        family_name=family,
        date_of_birth=born,
        phone=phone,
    )
    course = course_open(actor=coordinator, patient=patient, protocol_version=version)
    course_transition(actor=coordinator, course=course, to="screening")
    _screen(coordinator, course, caps5=38, qtc=421, complete=True)
    course_transition(actor=physician, course=course, to="eligible")
    consent_record(
        actor=coordinator,
        course=course,
        document=document,
        patient_printed_name=f"{given} {family}",
        patient_signature_svg=DEMO_SIGNATURE,
        password=DEMO_PASSWORD,
    )
    course.refresh_from_db()
    course = course_enroll(actor=coordinator, course=course, enrolled_on=today - timedelta(days=28))
    visits = {v.code: v for v in course.visits.all()}
    visit_record_occurrence(
        actor=coordinator, visit=visits["baseline"], occurred_on=today - timedelta(days=28)
    )
    for code, days_ago, sections in (
        ("prep1", 21, {"Education given": "What a session is like.", "Intentions": "Feel safe at home."}),
        ("prep2", 14, {"Safety plan": "Sister as contact; check-in calls agreed."}),
        ("prep3", 7, {"Touch consent discussed": "No touch.", "Plan until the next visit": "Rest."}),
    ):
        _documented(lead, visits[code], today - timedelta(days=days_ago), sections)
    visit_record_occurrence(actor=lead, visit=visits["dose1"], occurred_on=today)

    session = dosing.session_open(actor=lead, visit=visits["dose1"])
    dosing.setting_record(
        actor=lead,
        session=session,
        room=room_list(site=site).filter(name="Cedar dosing suite").first(),
        playlist="Demo playlist (instrumental, 8 hours)",
        eyeshades_offered=True,
        video_recorded=False,
    )
    dose_at = now().replace(second=0, microsecond=0) - timedelta(minutes=20)
    dosing.vitals_record(
        actor=lead,
        session=session,
        values={
            "systolic_bp": (118, "mm[Hg]"),
            "diastolic_bp": (76, "mm[Hg]"),
            "heart_rate": (72, "/min"),
            "temperature": ("36.8", "Cel"),
        },
        observed_at=dose_at - timedelta(minutes=15),
    )
    monitoring = protocol_of(version).monitoring
    for item in monitoring.pre_session_checklist if monitoring else ():
        dosing.checklist_answer(actor=lead, session=session, code=item.code, done=True)
    dosing.presence_check_in(
        actor=lead, session=session, user=users["lead"], role=Role.THERAPIST, is_lead=True
    )
    dosing.presence_check_in(actor=lead, session=session, user=users["cotherapist"], role=Role.THERAPIST)
    dosing.dose_administer(
        actor=lead,
        session=session,
        kind="initial",
        amount=Decimal(80),
        lot="MDMA-DEMO-01",
        administered_at=dose_at,
        witness=users["cotherapist"],
        witness_password=DEMO_PASSWORD,
    )
    return session


def _screen(
    actor: Actor,
    course: EnrollmentCourse,
    *,
    caps5: int,
    qtc: int | None,
    complete: bool,
    essentials_only: bool = False,
) -> None:
    """Synthetic screening data for the demo, entered through the screening services.
    ``essentials_only`` leaves out what no criterion needs (an allergy, a past SSRI, sodium), which
    saves the demo study an eligibility evaluation each per participant."""
    at = now() - timedelta(days=30)
    screening.history_add(
        actor=actor,
        course=course,
        condition="Post-traumatic stress disorder",
        category="psychiatric",
        code="ptsd",
        onset=date(2018, 6, 1),
    )
    if not essentials_only:
        screening.history_add(actor=actor, course=course, condition="Seasonal allergies", category="other")
        screening.medication_add(
            actor=actor,
            course=course,
            name="sertraline",
            drug_class="ssri",
            dose="100 mg daily",
            start=date(2021, 2, 1),
            stop=(at - timedelta(days=30)).date(),
        )
    screening.measurement_add(
        actor=actor, course=course, field="caps5_total", value=caps5, unit="{score}", measured_at=at
    )
    for systolic, diastolic in ((126, 80), (122, 78)):
        screening.measurement_add(
            actor=actor, course=course, field="systolic_bp", value=systolic, unit="mm[Hg]", measured_at=at
        )
        screening.measurement_add(
            actor=actor, course=course, field="diastolic_bp", value=diastolic, unit="mm[Hg]", measured_at=at
        )
    if not complete:
        return
    screening.measurement_add(
        actor=actor, course=course, field="qtc", value=qtc or 420, unit="ms", measured_at=at
    )
    labs: tuple[tuple[str, int | str, str], ...] = (
        ("alt", 22, "U/L"),
        ("ast", 19, "U/L"),
        ("bilirubin", "0.7", "mg/dL"),
    )
    for field, value, unit in labs if essentials_only else (*labs, ("sodium", 140, "mmol/L")):
        screening.measurement_add(
            actor=actor, course=course, field=field, value=value, unit=unit, measured_at=at
        )
    screening.flag_set(actor=actor, course=course, name="pregnancy_test_positive", value=False)
    screening.flag_set(actor=actor, course=course, name="lactating", value=False)
    screening.cssrs_set(actor=actor, course=course, risk="low")
    for section in ("medical_history", "psychiatric_history", "medications"):
        screening.section_mark(actor=actor, course=course, section=section, complete=True)
