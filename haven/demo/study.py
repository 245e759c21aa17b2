"""The demo study: a randomized study on the shipped ``mdma-ptsd`` protocol with synthetic data, so
that a statistician trying Haven sees a study report with something in every table.

Sixteen invented participants at the demo clinic are screened, consented, enrolled and randomized
(MDMA or placebo, 1:1, stratified by site) over the past year. A blinded rater scores the CAPS-5 at
baseline, at the primary endpoint and, for those enrolled long enough ago, at the six-month
follow-up; participants, therapists and the rater guess the arm at the endpoint; two participants
withdraw; four (two per arm) have their first dosing session recorded in full, with vital signs,
and some adverse events, one of them serious. The scores follow the arm: most of the MDMA arm
improve a lot and lose the diagnosis, the placebo arm improves less. Every number comes from the
participant's index and arm, so the data are the same on every load; which participant lands in
which arm comes from the study's secret seed, drawn when the study is created, and so does not.

Everything goes through Haven's services. Several of them take the time of the act from the clock
rather than from an argument (randomizing, moving a course, opening a session, checking staff in,
discharging, coding an event), and some refuse a time that has not yet come (a discharge before the
protocol's minimum monitoring time). So each step of a participant's timeline runs with the clock
set to the moment it happened (``_clock``), and the services that take an explicit time get that
same moment. The audit trail therefore dates these entries in the past, as if the study had been
run on this install.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

from django.utils import timezone

from haven.accounts.actors import user_actor
from haven.accounts.models import Role, Site, User
from haven.core.time import local, now
from haven.dosing import services as dosing
from haven.dosing.models import DosingSession
from haven.outcomes.services import response_record
from haven.patients.models import ConsentRecord, EnrollmentCourse, Visit, VisitStatus
from haven.patients.services import (
    consent_current_document,
    consent_record,
    consent_withdraw,
    course_enroll,
    course_open,
    course_transition,
    patient_register,
    visit_record_occurrence,
)
from haven.protocols.selectors import protocol_of, protocol_version_get
from haven.safety import services as safety
from haven.safety.models import SaeClock
from haven.trials.models import Study
from haven.trials.services import randomize, study_create

STUDY_TITLE = "Demo randomized study"
PROTOCOL = "mdma-ptsd"
ARMS = (
    {"code": "MDMA", "label": "MDMA-assisted therapy", "ratio": 1},
    {"code": "PBO", "label": "Placebo with therapy", "ratio": 1, "control": True},
)
# Invented people: sex at birth, given and family name, date of birth.
PARTICIPANTS = (
    ("female", "Maren", "Holloway", date(1982, 2, 11)),
    ("male", "Darius", "Penrose", date(1976, 9, 3)),
    ("female", "Ilse", "Marchetti", date(1990, 12, 19)),
    ("male", "Cormac", "Ashby", date(1985, 6, 27)),
    ("female", "Talia", "Brennick", date(1979, 4, 8)),
    ("male", "Oren", "Falkner", date(1993, 1, 15)),
    ("female", "Greta", "Whitcombe", date(1971, 10, 30)),
    ("male", "Lucan", "Daventry", date(1988, 3, 22)),
    ("female", "Noemi", "Castellan", date(1995, 7, 4)),
    ("male", "Idris", "Calloway", date(1983, 11, 12)),
    ("female", "Sunniva", "Rooke", date(1987, 5, 17)),
    ("male", "Wendell", "Marsh-Ortiz", date(1974, 8, 9)),
    ("female", "Petra", "Lindqvist-Hale", date(1991, 2, 28)),
    ("male", "Anselm", "Kroft", date(1980, 12, 1)),
    ("female", "Juno", "Ferrand", date(1998, 9, 23)),
    ("male", "Basil", "Ormond", date(1977, 6, 6)),
)
# The first MDMA participant from this index on withdraws consent part-way through treatment (the
# other withdrawal, after a serious event, is on placebo), so each arm has one discontinuation.
WITHDRAWS_CONSENT_FROM = 8
SESSIONS_PER_ARM = 2
SAE_NARRATIVE = (
    "Synthetic demo narrative: admitted for observation after disclosing suicidal thoughts at an "
    "integration visit; no self-harm; recovered and discharged to outpatient care."
)
# CAPS-5 symptom items with the clusters interleaved (B, C, D, E, B, C, …), so that a total spread
# over them meets every cluster from 28 up and loses the diagnosis below.
CAPS5_ITEMS = (
    "b1", "c1", "d1", "e1", "b2", "c2", "d2", "e2", "b3", "d3",
    "e3", "b4", "d4", "e4", "b5", "d5", "e5", "d6", "e6", "d7",
)  # fmt: skip


@contextmanager
def _clock(moment: datetime) -> Iterator[None]:
    """Run the services with the clock at ``moment`` (see the module docstring)."""
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def caps5_answers(total: int) -> dict[str, Any]:
    """A CAPS-5 rating whose 20 severities (0-4) add up to ``total``, criteria A, F and G met."""
    base, extra = divmod(max(0, min(total, 80)), 20)
    answers: dict[str, Any] = {
        f"caps5_{item}": base + (1 if n < extra else 0) for n, item in enumerate(CAPS5_ITEMS)
    }
    return answers | {"caps5_criterion_a": True, "caps5_criterion_f": True, "caps5_criterion_g": True}


@dataclass(frozen=True)
class Scores:
    baseline: int
    primary: int
    follow_up: int


# Points each participant's CAPS-5 total falls from baseline to the primary endpoint, by arm
# (MDMA: mean 26, SD 9, three in sixteen keep the diagnosis; placebo: mean 9, SD 5). Invented, with
# a wider gap than the MAPP trials found, so that sixteen participants show an effect.
DROP = {
    "MDMA": (30, 26, 33, 9, 36, 24, 38, 21, 31, 10, 34, 27, 23, 37, 15, 29),
    "PBO": (10, 4, 15, 7, 2, 14, 6, 18, 9, 5, 14, 3, 11, 7, 17, 8),
}


def scores(index: int, arm: str) -> Scores:
    """The participant's CAPS-5 totals: baseline 36-50, the primary endpoint ``DROP`` lower; at six
    months the MDMA arm holds or improves a little, placebo drifts either way."""
    baseline = 36 + (index * 7) % 15
    primary = max(baseline - DROP[arm][index % len(DROP[arm])], 0)
    follow_up = primary - 2 + index % 4 if arm == "MDMA" else primary - 3 + index % 6
    return Scores(baseline, primary, max(follow_up, 0))


def guesses(index: int, arm: str, drop: int) -> list[tuple[str, str, str, int]]:
    """Treatment guesses at the endpoint: (respondent on the form, Haven's respondent, guess,
    confidence). Participants and therapists mostly guess right, as in the MAPP trials; the rater,
    who sees only the interviews, more often says "don't know" and guesses from the improvement."""
    active = arm == "MDMA"
    confidence = 55 + (index * 13) % 40
    participant = ("active" if active else "placebo") if index % 5 else "dont_know"
    if not active and index % 3 == 0:
        participant = "active"
    therapist = ("active" if active else "placebo") if index % 4 != 1 else ("placebo" if active else "active")
    if not active and index % 6 == 2:
        therapist = "dont_know"
    rater = "dont_know" if index % 3 == 0 else ("active" if drop >= 15 else "placebo")
    return [
        ("participant", "patient", participant, confidence),
        ("therapist", "therapist", therapist, min(confidence + 10, 100)),
        ("rater", "rater", rater, max(confidence - 20, 10)),
    ]


def demo_study_load(site: Site, *, password: str, signature: str) -> Study | None:
    """Create the demo study and its participants, once: nothing is added when a study on the
    protocol exists already (an earlier load, or one set up by hand)."""
    from haven.demo.services import _screen

    if Study.objects.filter(protocol_code=PROTOCOL).exists():
        return None
    users = {u.username: u for u in User.objects.filter(is_demo=True)}
    zone = ZoneInfo(site.time_zone)
    today = now().astimezone(zone).date()

    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=zone)

    first_enrolled = today - timedelta(days=330)
    with _clock(at(first_enrolled - timedelta(days=30), 9)):
        study = study_create(
            actor=user_actor(users["datamanager"]),
            protocol_code=PROTOCOL,
            title=STUDY_TITLE,
            arms=ARMS,
            factors=["site"],
            statisticians=[users["datamanager"]],
        )
    builder = _Builder(site=site, users=users, password=password, signature=signature, at=at, screen=_screen)
    dosed: dict[str, int] = {}
    consent_withdrawn = False
    for index, person in enumerate(PARTICIPANTS):
        enrolled_on = first_enrolled + timedelta(days=6 * index)
        course, arm = builder.enroll_and_randomize(index, person, enrolled_on)
        session_day = enrolled_on + timedelta(days=28)
        with _clock(at(session_day, 8)):
            course_transition(actor=builder.coordinator, course=course, to="treatment")
        if dosed.get(arm, 0) < SESSIONS_PER_ARM:
            dosed[arm] = dosed.get(arm, 0) + 1
            builder.attended(course, before=session_day)
            session = builder.dosing_session(course, arm, session_day, index)
            if builder.adverse_events(course, session, arm, dosed[arm]):
                continue  # withdrawn after a serious event
        elif arm == "MDMA" and index >= WITHDRAWS_CONSENT_FROM and not consent_withdrawn:
            consent_withdrawn = True
            builder.attended(course, before=session_day + timedelta(days=50))
            with _clock(at(session_day + timedelta(days=50), 15)):
                record = ConsentRecord.objects.get(course=course, withdrawn_at__isnull=True)
                consent_withdraw(
                    actor=builder.coordinator,
                    record=record,
                    reason="Participant withdrew consent: moving abroad for work.",
                )
            continue
        builder.assessments(course, arm, index, today)
    return study


@dataclass
class _Builder:
    site: Site
    users: dict[str, User]
    password: str
    signature: str
    at: Any
    screen: Any

    def __post_init__(self) -> None:
        people = {name: user_actor(user) for name, user in self.users.items()}
        self.coordinator, self.physician = people["coordinator"], people["physician"]
        self.lead, self.rater, self.datamanager = people["lead"], people["rater"], people["datamanager"]
        self.version = protocol_version_get(code=PROTOCOL, version="1.0")
        document = consent_current_document(site=self.site, protocol_code=PROTOCOL)
        if document is None:  # pragma: no cover - the demo clinic always activates one
            raise LookupError("the demo clinic has no consent document")
        self.document = document

    def enroll_and_randomize(
        self, index: int, person: tuple[str, str, str, date], enrolled_on: date
    ) -> tuple[EnrollmentCourse, str]:
        """Screened two weeks before enrollment, consented three days before, the baseline CAPS-5 on
        the day of enrollment, randomized the same day."""
        sex, given, family, born = person
        with _clock(self.at(enrolled_on - timedelta(days=14), 9 + index % 3)):
            patient = patient_register(
                actor=self.coordinator,
                site=self.site,
                sex_at_birth=sex,
                given_name=given,
                family_name=family,
                date_of_birth=born,
                phone=f"+1 555 01{20 + index:02d}",
            )
            course = course_open(actor=self.coordinator, patient=patient, protocol_version=self.version)
            course_transition(actor=self.coordinator, course=course, to="screening")
            self.screen(
                self.coordinator,
                course,
                caps5=36 + (index * 7) % 15,
                qtc=405 + index,
                complete=True,
                essentials_only=True,
            )
        with _clock(self.at(enrolled_on - timedelta(days=7), 11)):
            course_transition(actor=self.physician, course=course, to="eligible")
        with _clock(self.at(enrolled_on - timedelta(days=3), 10)):
            consent_record(
                actor=self.coordinator,
                course=course,
                document=self.document,
                patient_printed_name=f"{given} {family}",
                patient_signature_svg=self.signature,
                password=self.password,
            )
        with _clock(self.at(enrolled_on, 9)):
            course.refresh_from_db()
            course = course_enroll(actor=self.coordinator, course=course, enrolled_on=enrolled_on)
            visit_record_occurrence(
                actor=self.rater, visit=self.visit(course, "baseline"), occurred_on=enrolled_on
            )
        with _clock(self.at(enrolled_on, 11)):
            randomization = randomize(actor=self.coordinator, course=course)
        arm = randomization.slot.arm
        self.caps5(course, "baseline", scores(index, arm).baseline, self.at(enrolled_on, 10, 30))
        return course, arm

    def visit(self, course: EnrollmentCourse, code: str) -> Visit:
        return Visit.objects.get(course=course, code=code)

    def attended(self, course: EnrollmentCourse, before: date) -> None:
        """Every visit still planned before ``before`` took place on its target day (the dosing
        visits without a session in Haven as if documented elsewhere), so the clinic's lists do not
        show the participants' past visits as overdue."""
        while True:
            visit = (
                Visit.objects.filter(course=course, status=VisitStatus.PLANNED, target_date__lt=before)
                .exclude(kind__in=("assessment", "follow-up"))  # the rater's: recorded with their scores
                .order_by("target_date", "pk")
                .first()
            )
            if visit is None:
                return
            with _clock(self.at(visit.target_date, 17)):
                visit_record_occurrence(actor=self.coordinator, visit=visit, occurred_on=visit.target_date)

    def caps5(self, course: EnrollmentCourse, visit: str, total: int, completed_at: datetime) -> None:
        with _clock(completed_at + timedelta(minutes=5)):
            response_record(
                actor=self.rater,
                course=course,
                instrument="caps5",
                respondent="rater",
                answers=caps5_answers(total),
                visit=self.visit(course, visit),
                completed_at=completed_at,
            )

    def dosing_session(self, course: EnrollmentCourse, arm: str, day: date, index: int) -> DosingSession:
        """Dosing session 1 in full: checklist, dyad, pre-dose vitals, 120 mg witnessed, vitals
        through the day (a larger rise on MDMA, never near the alert limits), two attestations
        and a discharge after the overnight stay's evening. Blinded: the session room records the
        kit number, not the arm."""
        lead_user, co_user = self.users["lead"], self.users["cotherapist"]
        dose_at = self.at(day, 9)
        with _clock(dose_at - timedelta(minutes=30)):
            session = dosing.session_open(actor=self.lead, visit=self.visit(course, "dose1"))
            monitoring = protocol_of(self.version).monitoring
            for item in monitoring.pre_session_checklist if monitoring else ():
                dosing.checklist_answer(actor=self.lead, session=session, code=item.code, done=True)
            dosing.presence_check_in(
                actor=self.lead, session=session, user=lead_user, role=Role.THERAPIST, is_lead=True
            )
            dosing.presence_check_in(actor=self.lead, session=session, user=co_user, role=Role.THERAPIST)
        systolic, diastolic, pulse = 116 + index % 9, 74 + index % 7, 68 + index % 11
        self.vitals(session, dose_at - timedelta(minutes=15), systolic, diastolic, pulse, "36.7", suds=5)
        with _clock(dose_at):
            dosing.dose_administer(
                actor=self.lead,
                session=session,
                kind="initial",
                amount=Decimal(120),
                lot=f"DEMO-KIT-{100 + index}",
                administered_at=dose_at,
                witness=co_user,
                witness_password=self.password,
            )
        # Rise from baseline (systolic, diastolic, heart rate, temperature) by hours after the dose.
        active = arm == "MDMA"
        course_of_day = (
            (60, (24, 12, 22, "37.2") if active else (6, 3, 4, "36.8"), 6 if active else 5),
            (120, (31 + index % 5, 15, 27, "37.4") if active else (8, 4, 6, "36.9"), 3),
            (240, (18, 9, 16, "37.2") if active else (4, 2, 3, "36.8"), 3),
            (420, (6, 3, 6, "36.9") if active else (2, 1, 2, "36.7"), 2),
        )
        for minutes, (d_sys, d_dia, d_hr, temperature), suds in course_of_day:
            self.vitals(
                session,
                dose_at + timedelta(minutes=minutes),
                systolic + d_sys,
                diastolic + d_dia,
                pulse + d_hr,
                temperature,
                suds=suds,
            )
        with _clock(dose_at + timedelta(minutes=495)):
            for therapist in (self.lead, user_actor(co_user)):
                dosing.discharge_attest(
                    actor=therapist,
                    session=session,
                    alert_and_oriented=True,
                    escort_present=True,
                    escort_name="Overnight attendant (demo)",
                    password=self.password,
                )
            return dosing.session_discharge(actor=self.lead, session=session, overnight_stay=True)

    def vitals(
        self,
        session: DosingSession,
        observed_at: datetime,
        systolic: int,
        diastolic: int,
        pulse: int,
        temperature: str,
        *,
        suds: int,
    ) -> None:
        with _clock(observed_at + timedelta(minutes=2)):
            dosing.vitals_record(
                actor=self.lead,
                session=session,
                values={
                    "systolic_bp": (systolic, "mm[Hg]"),
                    "diastolic_bp": (diastolic, "mm[Hg]"),
                    "heart_rate": (pulse, "/min"),
                    "temperature": (temperature, "Cel"),
                    "suds": (suds, "{score}"),
                },
                observed_at=observed_at,
            )

    def adverse_events(self, course: EnrollmentCourse, session: DosingSession, arm: str, nth: int) -> bool:
        """A few events after the first dose, coded by the data manager (one left uncoded). The
        second placebo participant dosed has a serious event ten days later, reported within a
        day, and is withdrawn by the investigator: True for that one."""
        assert session.first_dose_at is not None
        dose_at = session.first_dose_at
        events: list[tuple[safety.AeData, tuple[str, str, str, str] | None]] = []
        if arm == "MDMA":
            events.append(
                (
                    safety.AeData(
                        verbatim_term="Jaw clenching",
                        onset_at=dose_at + timedelta(minutes=75),
                        resolved_at=dose_at + timedelta(hours=6),
                        severity="mild",
                        relatedness="probable",
                        expected=True,
                        action_taken="none",
                        outcome="recovered",
                    ),
                    ("10044684", "Trismus", "10028395", "Musculoskeletal and connective tissue disorders"),
                )
            )
            events.append(
                (
                    safety.AeData(
                        verbatim_term="Nausea after the dose" if nth == 1 else "Felt cold and shivery",
                        onset_at=dose_at + timedelta(minutes=40),
                        resolved_at=dose_at + timedelta(hours=2),
                        severity="mild" if nth == 1 else "moderate",
                        relatedness="possible",
                        expected=True,
                        action_taken="none",
                        outcome="recovered",
                    ),
                    ("10028813", "Nausea", "10017947", "Gastrointestinal disorders") if nth == 1 else None,
                )
            )
        elif nth == 1:
            events.append(
                (
                    safety.AeData(
                        verbatim_term="Headache",
                        onset_at=dose_at + timedelta(hours=3),
                        resolved_at=dose_at + timedelta(hours=7),
                        severity="mild",
                        relatedness="unlikely",
                        expected=True,
                        action_taken="none",
                        outcome="recovered",
                    ),
                    ("10019211", "Headache", "10029205", "Nervous system disorders"),
                )
            )
        serious = arm != "MDMA" and nth == 2
        if serious:
            onset = dose_at + timedelta(days=10, hours=4)
            events.append(
                (
                    safety.AeData(
                        verbatim_term="Suicidal thoughts, admitted to hospital",
                        description="Admitted for two nights for observation; discharged to outpatient care.",
                        onset_at=onset,
                        resolved_at=onset + timedelta(days=4),
                        severity="severe",
                        hospitalisation=True,
                        awareness_at=onset + timedelta(hours=3),
                        relatedness="unlikely",
                        expected=False,
                        action_taken="withdrawn",
                        outcome="recovered",
                    ),
                    ("10042458", "Suicidal ideation", "10037175", "Psychiatric disorders"),
                )
            )
        for data, coding in events:
            reporter = self.physician if data.serious else self.lead
            with _clock((data.resolved_at or data.onset_at) + timedelta(hours=1)):
                event = safety.ae_record(actor=reporter, course=course, data=data, session=session)
            if data.serious and data.awareness_at is not None:
                # The initial report within a day stops its clock; so does the expedited report,
                # which an unexpected serious event calls for.
                with _clock(data.awareness_at + timedelta(hours=20)):
                    for kind in ("initial", "expedited"):
                        running = SaeClock.objects.filter(event=event, kind=kind, stopped_at__isnull=True)
                        if running.exists():
                            safety.sae_report_submit(
                                actor=self.physician, event=event, kind=kind, narrative=SAE_NARRATIVE
                            )
            if coding is not None:
                pt_code, pt_name, soc_code, soc_name = coding
                with _clock(data.onset_at + timedelta(days=7)):
                    safety.ae_code(
                        actor=self.datamanager,
                        event=event,
                        pt_code=pt_code,
                        pt_name=pt_name,
                        soc_code=soc_code,
                        soc_name=soc_name,
                    )
        if serious:
            self.attended(course, before=local(dose_at, self.site.time_zone).date() + timedelta(days=16))
            with _clock(dose_at + timedelta(days=16)):
                course_transition(
                    actor=self.physician,
                    course=course,
                    to="withdrawn",
                    reason="Withdrawn by the investigator after a serious adverse event.",
                )
        return serious

    def assessments(self, course: EnrollmentCourse, arm: str, index: int, today: date) -> None:
        """The primary endpoint (CAPS-5 and treatment guesses) about 20 weeks after enrollment, and
        the six-month follow-up when that day has passed."""
        enrolled_on = course.enrolled_on
        assert enrolled_on is not None
        result = scores(index, arm)
        primary_day = self.visit(course, "primary").target_date + timedelta(days=(index * 5) % 19 - 6)
        self.attended(course, before=primary_day)
        with _clock(self.at(primary_day, 9)):
            course_transition(actor=self.coordinator, course=course, to="follow_up")
            visit_record_occurrence(
                actor=self.rater, visit=self.visit(course, "primary"), occurred_on=primary_day
            )
        self.caps5(course, "primary", result.primary, self.at(primary_day, 10))
        authors = {"patient": self.coordinator, "therapist": self.lead, "rater": self.rater}
        for on_form, respondent, guess, confidence in guesses(index, arm, result.baseline - result.primary):
            completed = self.at(primary_day, 12)
            with _clock(completed + timedelta(minutes=5)):
                response_record(
                    actor=authors[respondent],
                    course=course,
                    instrument="treatment_guess",
                    respondent=respondent,
                    answers={
                        "treatment_guess_respondent": on_form,
                        "treatment_guess_arm": guess,
                        "treatment_guess_confidence": confidence,
                    },
                    visit=self.visit(course, "primary"),
                    completed_at=completed,
                )
        follow_up = self.visit(course, "fu6")
        follow_up_day = follow_up.target_date + timedelta(days=(index * 5) % 11 - 5)
        if follow_up_day >= today:
            return
        with _clock(self.at(follow_up_day, 9)):
            visit_record_occurrence(actor=self.rater, visit=follow_up, occurred_on=follow_up_day)
        self.caps5(course, "fu6", result.follow_up, self.at(follow_up_day, 10))
