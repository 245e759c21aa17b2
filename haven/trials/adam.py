"""Haven's own study data in ADaM shapes, so one analysis path serves Haven and any external ADaM.

- **ADSL** (one row per randomized subject): ``USUBJID`` (the study ID), ``SITEID``, ``ARM``
  (the allocated arm: only built for someone who may see every arm), ``STRATUM`` (the randomization
  stratum, e.g. ``site=ALD|dissociative=no``), ``RANDDT``, ``AGE`` (years at
  enrollment), ``SEX``, ``COURSE`` (the course's status), ``WITHDRAWN`` (Y/N).
- **ADQS** (one row per subject, parameter and visit): ``PARAMCD`` (the instrument), ``AVISIT`` (the
  protocol's visit code), ``AVISITN`` (its order), ``ADT``, ``AVAL`` (the current score's total),
  ``BASE`` (the value at the protocol's baseline visit), ``CHG`` (``AVAL − BASE``), ``DIAGFL``
  (Y/N where the instrument decides a diagnosis), ``ABLFL`` (Y at baseline).
- **ADAE** (one row per adverse event, not drafts or entries in error): ``AESEQ``, ``AETERM``
  (verbatim), ``AEDECOD`` / ``AEBODSYS`` (MedDRA preferred term and system organ class; empty until
  the data manager codes the event), ``ASTDT`` / ``AENDT`` (onset and resolution dates), ``ASTDY``
  (study day of onset from randomization, day 1 the day of randomization), ``AESEV``
  (MILD/MODERATE/SEVERE), ``AETOXGR`` (CTCAE grade where the protocol grades that way), ``AESER``
  and the six criteria ``AESDTH``, ``AESLIFE``, ``AESHOSP``, ``AESDISAB``, ``AESCONG``, ``AESMIE``
  (Y/N), ``AEREL`` (relatedness as recorded), ``AERELFL`` (Y when possible, probable or definite),
  ``AEACN`` (action with the study drug), ``AEOUT`` (outcome), ``AESI`` (categories, ``;``-joined),
  ``TRTEMFL`` (Y when the onset is at or after the patient's first dose — treatment-emergent).
- **ADVS** (one row per vital sign observed in a dosed session, entries in error left out, built
  on demand — it can be long): ``SESSION`` (the course's dosing session 1, 2, 3…), ``PARAMCD``,
  ``AVAL``, ``AVALU`` (UCUM), ``LOINC``, ``ATPTN`` (minutes from the session's first dose; negative
  before it), ``BASE`` (the last value before the dose), ``CHG``, ``ABLFL``.

- **ADTTE** (one row per subject and parameter; days from randomization, the day of
  randomization 0): ``PARAMCD`` ``TTDISC`` — time to discontinuation (withdrawn or lost to
  follow-up; censored at completion or at the last contact: the latest visit held or form
  completed) — and ``TTLOD`` — time to the first post-baseline assessment of the protocol's primary
  instrument without the diagnosis (censored at the last such assessment; subjects without one are
  left out). ``AVAL`` (days), ``CNSR`` (0 the event, 1 censored), ``STARTDT``, ``ADT``, ``EVNTDESC``.
  Censoring at the last contact rather than at the day the report is run keeps the data snapshot
  the same from one day to the next.

ADSL also carries ``SAFFL`` (Y once the patient has had a first dose: the safety population) and
``TRTSDT`` (the date of the first dose). De-identified: no names, dates of birth or contact details
leave Haven this way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from django.db.models import Min

from haven.accounts.models import User
from haven.core.errors import PermissionDenied
from haven.core.time import local
from haven.dosing.models import DosingSession
from haven.outcomes.models import Response
from haven.outcomes.selectors import current_score
from haven.patients.models import CourseStatus, PatientIdentity
from haven.protocols.selectors import protocol_of
from haven.trials.models import Randomization, Study
from haven.trials.services import arm_for

WITHDRAWN = {CourseStatus.WITHDRAWN, CourseStatus.LOST}


@dataclass(frozen=True)
class StudyData:
    adsl: pd.DataFrame
    adqs: pd.DataFrame
    adae: pd.DataFrame
    adtte: pd.DataFrame


def _randomized(user: User, study: Study) -> tuple[list[Randomization], dict[int, str]]:
    """The study's randomizations and each course's arm — refused unless ``user`` sees every arm."""
    randomizations = list(
        Randomization.objects.filter(study=study).select_related(
            "course__site", "course__patient", "course__protocol_version", "slot", "study"
        )
    )
    arms = {}
    for randomization in randomizations:
        arm = arm_for(user, randomization)
        if arm is None:
            raise PermissionDenied(
                "The study data carry the arms: only the study's unblinded statisticians export them."
            )
        arms[randomization.course_id] = arm
    return randomizations, arms


def _first_doses(course_ids: Iterable[int]) -> dict[int, datetime]:
    return dict(
        DosingSession.objects.filter(course_id__in=list(course_ids), first_dose_at__isnull=False)
        .values("course_id")
        .annotate(first=Min("first_dose_at"))
        .values_list("course_id", "first")
    )


def study_data(*, user: User, study: Study) -> StudyData:
    randomizations, arms = _randomized(user, study)
    first_doses = _first_doses(arms)
    subjects = []
    for randomization in randomizations:
        course = randomization.course
        identity = PatientIdentity.objects.filter(patient=course.patient).first()
        enrolled = course.enrolled_on
        age = None
        if identity is not None and enrolled is not None:
            born = identity.date_of_birth
            age = enrolled.year - born.year - ((enrolled.month, enrolled.day) < (born.month, born.day))
        subjects.append(
            {
                "USUBJID": course.patient.study_id,
                "SITEID": course.site.code,
                "ARM": arms[course.pk],
                "STRATUM": randomization.slot.stratum,
                "RANDDT": local(randomization.created_at, course.site.time_zone).date().isoformat(),
                "AGE": age,
                "SEX": course.patient.sex_at_birth.upper()[:1],
                "COURSE": course.status,
                "WITHDRAWN": "Y" if course.status in WITHDRAWN else "N",
                "SAFFL": "Y" if course.pk in first_doses else "N",
                "TRTSDT": local(first_doses[course.pk], course.site.time_zone).date().isoformat()
                if course.pk in first_doses
                else "",
            }
        )
    rows = []
    courses = {r.course_id: r.course for r in randomizations}
    responses = (
        Response.objects.filter(course_id__in=courses, entered_in_error=False, visit__isnull=False)
        .select_related("visit", "course__patient", "course__protocol_version")
        .prefetch_related("scores")
        .order_by("completed_at", "pk")
    )
    orders: dict[int, dict[str, int]] = {}
    for response in responses:
        course = courses[response.course_id]
        if course.pk not in orders:
            protocol = protocol_of(course.protocol_version)
            orders[course.pk] = {v.code: i for i, v in enumerate(protocol.visits, start=1)}
        score = current_score(response)
        if score is None or score.total is None:
            continue
        assert response.visit is not None
        diagnosis = score.detail.get("diagnosis")
        rows.append(
            {
                "USUBJID": course.patient.study_id,
                "ARM": arms[course.pk],
                "PARAMCD": response.instrument,
                "AVISIT": response.visit.definition_code,
                "AVISITN": orders[course.pk].get(response.visit.definition_code, 0),
                "ADT": local(response.completed_at, course.site.time_zone).date().isoformat(),
                "AVAL": float(score.total),
                "DIAGFL": {True: "Y", False: "N"}.get(diagnosis, "") if isinstance(diagnosis, bool) else "",
            }
        )
    adqs = pd.DataFrame(
        rows, columns=["USUBJID", "ARM", "PARAMCD", "AVISIT", "AVISITN", "ADT", "AVAL", "DIAGFL"]
    )
    if not adqs.empty:
        baseline_visit = {
            r.course.patient.study_id: (protocol_of(r.course.protocol_version).outcomes or None)
            for r in randomizations
        }
        base_codes = {sid: (o.baseline_visit if o else "baseline") for sid, o in baseline_visit.items()}
        adqs["ABLFL"] = [
            "Y" if base_codes.get(s) == v else ""
            for s, v in zip(adqs["USUBJID"], adqs["AVISIT"], strict=True)
        ]
        base = (
            adqs[adqs["ABLFL"] == "Y"]
            .groupby(["USUBJID", "PARAMCD"])["AVAL"]
            .first()
            .rename("BASE")
            .reset_index()
        )
        adqs = adqs.merge(base, on=["USUBJID", "PARAMCD"], how="left")
        adqs["CHG"] = adqs["AVAL"] - adqs["BASE"]
    else:
        adqs = adqs.assign(
            ABLFL=pd.Series(dtype=str), BASE=pd.Series(dtype=float), CHG=pd.Series(dtype=float)
        )
    adsl = pd.DataFrame(
        subjects,
        columns=[
            "USUBJID",
            "SITEID",
            "ARM",
            "STRATUM",
            "RANDDT",
            "AGE",
            "SEX",
            "COURSE",
            "WITHDRAWN",
            "SAFFL",
            "TRTSDT",
        ],
    )
    return StudyData(
        adsl=adsl,
        adqs=adqs,
        adae=_adae(randomizations, arms, first_doses),
        adtte=_adtte(randomizations, arms, adqs),
    )


ADTTE_COLUMNS = ["USUBJID", "ARM", "PARAMCD", "PARAM", "AVAL", "CNSR", "STARTDT", "ADT", "EVNTDESC"]
ADTTE_PARAMS = {
    "TTDISC": "Time to discontinuation (days)",
    "TTLOD": "Time to loss of diagnosis (days)",
}


def _adtte(randomizations: list[Randomization], arms: dict[int, str], adqs: pd.DataFrame) -> pd.DataFrame:
    from haven.outcomes.scoring import resolve
    from haven.patients.models import CourseTransition, Visit

    rows: list[dict[str, Any]] = []
    for randomization in randomizations:
        course = randomization.course
        zone = course.site.time_zone
        start = local(randomization.created_at, zone).date()
        subject = course.patient.study_id
        base = {"USUBJID": subject, "ARM": arms[course.pk], "STARTDT": start.isoformat()}
        ended = (
            CourseTransition.objects.filter(course=course, to_status__in=[*WITHDRAWN, CourseStatus.COMPLETED])
            .order_by("occurred_at", "pk")
            .first()
        )
        mine = adqs[adqs["USUBJID"] == subject] if not adqs.empty else adqs
        if ended is not None:
            end = local(ended.occurred_at, zone).date()
            event = ended.to_status in WITHDRAWN
            description = ended.get_to_status_display() if event else "Completed (censored)"
        else:
            held = Visit.objects.filter(course=course, occurred_on__isnull=False).order_by("-occurred_on")
            contacts = [start, *(d for d in held.values_list("occurred_on", flat=True)[:1] if d is not None)]
            contacts += [date.fromisoformat(d) for d in mine["ADT"]] if not mine.empty else []
            end, event, description = max(contacts), False, "Last contact (censored)"
        rows.append(
            base
            | {
                "PARAMCD": "TTDISC",
                "PARAM": ADTTE_PARAMS["TTDISC"],
                "AVAL": max((end - start).days, 0),
                "CNSR": 0 if event else 1,
                "ADT": end.isoformat(),
                "EVNTDESC": description,
            }
        )
        outcomes = protocol_of(course.protocol_version).outcomes
        if outcomes is None or mine.empty:
            continue
        primary = resolve(outcomes.primary_instrument) or outcomes.primary_instrument
        assessed = mine[
            (mine["PARAMCD"] == primary)
            & (mine["AVISIT"] != outcomes.baseline_visit)
            & mine["DIAGFL"].isin(["Y", "N"])
        ].sort_values("ADT", kind="stable")
        if assessed.empty:
            continue
        lost = assessed[assessed["DIAGFL"] == "N"]
        when = date.fromisoformat(
            str((lost if not lost.empty else assessed)["ADT"].iloc[0 if not lost.empty else -1])
        )
        rows.append(
            base
            | {
                "PARAMCD": "TTLOD",
                "PARAM": ADTTE_PARAMS["TTLOD"],
                "AVAL": max((when - start).days, 0),
                "CNSR": 0 if not lost.empty else 1,
                "ADT": when.isoformat(),
                "EVNTDESC": "Diagnosis no longer met" if not lost.empty else "Last assessment (censored)",
            }
        )
    return pd.DataFrame(rows, columns=ADTTE_COLUMNS)


ADAE_COLUMNS = [
    "USUBJID", "ARM", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "ASTDT", "AENDT", "ASTDY", "AESEV",
    "AETOXGR", "AESER", "AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE", "AEREL",
    "AERELFL", "AEACN", "AEOUT", "AESI", "TRTEMFL",
]  # fmt: skip


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def _adae(
    randomizations: list[Randomization], arms: dict[int, str], first_doses: dict[int, datetime]
) -> pd.DataFrame:
    from haven.safety.models import RELATED, AdverseEvent, AeStatus

    randomized = {r.course_id: r for r in randomizations}
    events = (
        AdverseEvent.objects.filter(course_id__in=list(arms))
        .exclude(status__in=[AeStatus.DRAFT, AeStatus.ENTERED_IN_ERROR])
        .select_related("course__patient", "course__site")
        .order_by("course_id", "onset_at", "pk")
    )
    rows = []
    sequence: dict[int, int] = {}
    for event in events:
        course = event.course
        zone = course.site.time_zone
        sequence[course.pk] = sequence.get(course.pk, 0) + 1
        onset = local(event.onset_at, zone).date()
        randomized_on = local(randomized[course.pk].created_at, zone).date()
        day = (onset - randomized_on).days
        first = first_doses.get(course.pk)
        rows.append(
            {
                "USUBJID": course.patient.study_id,
                "ARM": arms[course.pk],
                "AESEQ": sequence[course.pk],
                "AETERM": event.verbatim_term,
                "AEDECOD": event.meddra_pt_name,
                "AEBODSYS": event.meddra_soc_name,
                "ASTDT": onset.isoformat(),
                "AENDT": local(event.resolved_at, zone).date().isoformat() if event.resolved_at else "",
                "ASTDY": day + 1 if day >= 0 else day,  # CDISC study days have no day 0
                "AESEV": event.severity.upper(),
                "AETOXGR": event.ctcae_grade if event.ctcae_grade is not None else "",
                "AESER": _yn(event.serious),
                "AESDTH": _yn(event.death),
                "AESLIFE": _yn(event.life_threatening),
                "AESHOSP": _yn(event.hospitalisation),
                "AESDISAB": _yn(event.disability),
                "AESCONG": _yn(event.congenital_anomaly),
                "AESMIE": _yn(event.other_important),
                "AEREL": event.relatedness,
                "AERELFL": _yn(event.relatedness in RELATED),
                "AEACN": event.action_taken,
                "AEOUT": event.outcome,
                "AESI": ";".join(sorted({*event.aesi_categories, *event.aesi_manual})),
                "TRTEMFL": _yn(first is not None and event.onset_at >= first),
            }
        )
    return pd.DataFrame(rows, columns=ADAE_COLUMNS)


ADVS_COLUMNS = [
    "USUBJID", "ARM", "SESSION", "PARAMCD", "AVAL", "AVALU", "LOINC", "ATPTN", "BASE", "CHG", "ABLFL",
]  # fmt: skip


def study_advs(*, user: User, study: Study) -> pd.DataFrame:
    """ADVS (see the module docstring): the vital signs of every dosed session of the study."""
    from haven.dosing.models import Observation

    _, arms = _randomized(user, study)
    sessions = list(
        DosingSession.objects.filter(course_id__in=list(arms), first_dose_at__isnull=False)
        .select_related("course__patient")
        .order_by("course_id", "first_dose_at", "pk")
    )
    numbers: dict[int, int] = {}
    rows = []
    for session in sessions:
        assert session.first_dose_at is not None
        numbers[session.course_id] = numbers.get(session.course_id, 0) + 1
        observations = Observation.objects.filter(session=session, entered_in_error=False).order_by(
            "parameter", "observed_at", "pk"
        )
        baseline: dict[str, Observation] = {}  # the last observation at or before the dose
        for observation in observations:
            if observation.observed_at <= session.first_dose_at:
                baseline[observation.parameter] = observation
        for observation in observations:
            value = float(observation.value)
            minutes = (observation.observed_at - session.first_dose_at).total_seconds() / 60
            first = baseline.get(observation.parameter)
            base = None if first is None else float(first.value)
            rows.append(
                {
                    "USUBJID": session.course.patient.study_id,
                    "ARM": arms[session.course_id],
                    "SESSION": numbers[session.course_id],
                    "PARAMCD": observation.parameter,
                    "AVAL": value,
                    "AVALU": observation.unit,
                    "LOINC": observation.loinc,
                    "ATPTN": round(minutes, 1),
                    "BASE": base,
                    "CHG": None if base is None or minutes <= 0 else value - base,
                    "ABLFL": "Y" if first is not None and first.pk == observation.pk else "",
                }
            )
    return pd.DataFrame(rows, columns=ADVS_COLUMNS)
