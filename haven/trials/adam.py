"""Haven's own study data in ADaM shapes, so one analysis path serves Haven and any external ADaM.

- **ADSL** (one row per randomized subject): ``USUBJID`` (the study ID), ``SITEID``, ``ARM``
  (the allocated arm: only built for someone who may see every arm), ``RANDDT``, ``AGE`` (years at
  enrollment), ``SEX``, ``COURSE`` (the course's status), ``WITHDRAWN`` (Y/N).
- **ADQS** (one row per subject, parameter and visit): ``PARAMCD`` (the instrument), ``AVISIT`` (the
  protocol's visit code), ``AVISITN`` (its order), ``ADT``, ``AVAL`` (the current score's total),
  ``BASE`` (the value at the protocol's baseline visit), ``CHG`` (``AVAL − BASE``), ``DIAGFL``
  (Y/N where the instrument decides a diagnosis), ``ABLFL`` (Y at baseline).

De-identified: no names, dates of birth or contact details leave Haven this way.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from haven.accounts.models import User
from haven.core.errors import PermissionDenied
from haven.core.time import local
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


def study_data(*, user: User, study: Study) -> StudyData:
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
                "RANDDT": local(randomization.created_at, course.site.time_zone).date().isoformat(),
                "AGE": age,
                "SEX": course.patient.sex_at_birth.upper()[:1],
                "COURSE": course.status,
                "WITHDRAWN": "Y" if course.status in WITHDRAWN else "N",
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
        subjects, columns=["USUBJID", "SITEID", "ARM", "RANDDT", "AGE", "SEX", "COURSE", "WITHDRAWN"]
    )
    return StudyData(adsl=adsl, adqs=adqs)
