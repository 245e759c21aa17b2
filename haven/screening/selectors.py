"""Reads for screening, and the eligibility gate enrollment relies on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from haven.core.errors import NotFound
from haven.core.time import today_at
from haven.patients.models import EnrollmentCourse
from haven.screening.models import (
    EligibilityEvaluation,
    EligibilityOverride,
    HistoryItem,
    MedicationEntry,
    Overall,
    PsychedelicUse,
    ScreeningFlag,
    ScreeningMeasurement,
    ScreeningRecord,
)

ENTRY_MODELS: dict[
    str, type[HistoryItem | PsychedelicUse | MedicationEntry | ScreeningMeasurement | ScreeningFlag]
] = {
    "history": HistoryItem,
    "psychedelic-use": PsychedelicUse,
    "medications": MedicationEntry,
    "measurements": ScreeningMeasurement,
    "flags": ScreeningFlag,
}


def record_of(course: EnrollmentCourse) -> ScreeningRecord | None:
    return ScreeningRecord.objects.filter(course=course).first()


def eligibility_latest(course: EnrollmentCourse) -> EligibilityEvaluation | None:
    return EligibilityEvaluation.objects.filter(course=course).order_by("-created_at", "-pk").first()


def eligibility_history(course: EnrollmentCourse) -> QuerySet[EligibilityEvaluation]:
    return EligibilityEvaluation.objects.filter(course=course).order_by("-created_at", "-pk")


def override_list(course: EnrollmentCourse) -> QuerySet[EligibilityOverride]:
    return (
        EligibilityOverride.objects.filter(course=course).select_related("physician").order_by("created_at")
    )


def access_entry(
    *, course: EnrollmentCourse, kind: str, entry_id: uuid.UUID | str
) -> HistoryItem | PsychedelicUse | MedicationEntry | ScreeningMeasurement | ScreeningFlag:
    """An entry of ``course``'s record (the course was loaded through ``access_course``)."""
    model = ENTRY_MODELS.get(kind)
    if model is None:
        raise NotFound("No such kind of screening entry.")
    try:
        public_id = entry_id if isinstance(entry_id, uuid.UUID) else uuid.UUID(str(entry_id))
    except ValueError:
        raise NotFound() from None
    entry = (
        model.objects.filter(public_id=public_id, record__course=course)
        .select_related("record__course__site")
        .first()
    )
    if entry is None:
        raise NotFound("Screening entry not found.")
    return entry


def eligibility_gate(course: EnrollmentCourse) -> str | None:
    """Why the course may not be declared eligible now, or None when it may.

    It may when the latest evaluation (overrides included) is eligible, or eligible from a date
    that has come.
    """
    latest = eligibility_latest(course)
    if latest is None:
        return "no eligibility evaluation: enter the screening data first"
    if latest.overall == Overall.ELIGIBLE:
        return None
    if latest.overall == Overall.ELIGIBLE_FROM and latest.eligible_from is not None:
        if latest.eligible_from <= today_at(course.site.time_zone):
            return None
        return f"eligible only from {latest.eligible_from:%Y-%m-%d}"
    return f"the latest evaluation is {Overall(latest.overall).label.lower()}"


@dataclass(frozen=True)
class EntryLists:
    """Every entry of a record by kind (in error or not), each in the order entered."""

    history: list[HistoryItem]
    psychedelic_use: list[PsychedelicUse]
    medications: list[MedicationEntry]
    measurements: list[ScreeningMeasurement]  # by field, then time measured, then entry order
    flags: list[ScreeningFlag]


def entry_lists(record: ScreeningRecord) -> EntryLists:
    """One query per kind of entry."""
    in_order = ("created_at", "pk")
    return EntryLists(
        history=list(
            HistoryItem.objects.filter(record=record).select_related("entered_by").order_by(*in_order)
        ),
        psychedelic_use=list(
            PsychedelicUse.objects.filter(record=record).select_related("entered_by").order_by(*in_order)
        ),
        medications=list(
            MedicationEntry.objects.filter(record=record).select_related("entered_by").order_by(*in_order)
        ),
        measurements=list(
            ScreeningMeasurement.objects.filter(record=record)
            .select_related("entered_by")
            .order_by("field", "measured_at", *in_order)
        ),
        flags=list(
            ScreeningFlag.objects.filter(record=record).select_related("entered_by").order_by(*in_order)
        ),
    )
