"""The demo site: synthetic staff in every role, for trying Haven on one machine.

Idempotent: running it again adds only what is missing. Demo accounts are flagged ``is_demo``;
they may skip the second factor outside production, and production refuses to start while any
exist. Every name here is invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from haven.accounts.actors import user_actor
from haven.accounts.models import CredentialKind, Role, Site, SiteMembership, StaffCredential, User
from haven.accounts.services import credential_create, membership_grant, site_create, user_create
from haven.audit.context import Actor
from haven.core.time import now
from haven.patients.models import EnrollmentCourse, Patient
from haven.patients.services import (
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
from haven.protocols.selectors import protocol_version_get
from haven.protocols.services import protocol_load
from haven.scheduling.services import StaffPick, appointment_book, room_create
from haven.screening import services as screening

DEMO_PASSWORD = "haven-demo-password"  # noqa: S105 - published on purpose; demo installs only
DEMO_SITE = ("Haven Demo Clinic", "America/Chicago")
DEMO_SIGNATURE = "M 20 60 C 40 10 60 10 70 50 S 100 90 120 40 L 140 55"
OTHER_SITE = ("Northfield Research Unit", "Europe/London")


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
    return list(DEMO_USERS)


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
        visit = visits[code]
        visit_record_occurrence(actor=lead, visit=visit, occurred_on=today - timedelta(days=days_ago))
        note = visit_note_save(
            actor=lead,
            visit=visit,
            sections=sections,
            free_text="Engaged and settled.",
            attendees=[users["lead"], users["cotherapist"]],
            duration_minutes=90,
        )
        visit_note_sign(actor=lead, note=note, password=DEMO_PASSWORD)
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


def _screen(actor: Actor, course: EnrollmentCourse, *, caps5: int, qtc: int | None, complete: bool) -> None:
    """Synthetic screening data for the demo, entered through the screening services."""
    at = now() - timedelta(days=30)
    screening.history_add(
        actor=actor,
        course=course,
        condition="Post-traumatic stress disorder",
        category="psychiatric",
        code="ptsd",
        onset=date(2018, 6, 1),
    )
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
    for field, value, unit in (
        ("alt", 22, "U/L"),
        ("ast", 19, "U/L"),
        ("bilirubin", "0.7", "mg/dL"),
        ("sodium", 140, "mmol/L"),
    ):
        screening.measurement_add(
            actor=actor, course=course, field=field, value=value, unit=unit, measured_at=at
        )
    screening.flag_set(actor=actor, course=course, name="pregnancy_test_positive", value=False)
    screening.flag_set(actor=actor, course=course, name="lactating", value=False)
    screening.cssrs_set(actor=actor, course=course, risk="low")
    for section in ("medical_history", "psychiatric_history", "medications"):
        screening.section_mark(actor=actor, course=course, section=section, complete=True)
