"""What the screening pages show: the sections of the record and the eligibility panel.

Role checks here only decide what to *offer*; the services decide what is allowed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils import timezone

from haven.accounts.models import Role, User
from haven.core.errors import DomainError
from haven.core.forms import attach_error
from haven.core.time import local, now
from haven.patients.models import EnrollmentCourse
from haven.screening import selectors, services
from haven.screening.drug_classes import drug_classes
from haven.screening.forms import (
    CSSRS_LABELS,
    FLAG_LABELS,
    EntryErrorForm,
    MeasurementsForm,
    SectionCompleteForm,
    psychiatric_label,
    section_forms,
    unit_label,
)
from haven.screening.models import (
    SECTIONS,
    HistoryItem,
    MedicationEntry,
    PsychedelicUse,
    ScreeningFlag,
    ScreeningMeasurement,
    ScreeningRecord,
)

Entry = HistoryItem | PsychedelicUse | MedicationEntry | ScreeningMeasurement | ScreeningFlag

SECTION_TITLES = {
    "medical_history": "Medical history",
    "psychiatric_history": "Psychiatric history",
    "psychedelic_use": "Prior psychedelic use",
    "medications": "Medications",
    "vitals": "Vital signs",
    "ecg": "ECG",
    "labs": "Laboratory tests",
    "body": "Weight and height",
    "pregnancy": "Pregnancy and lactation",
    "instruments": "Rating instruments",
}
SECTION_HINTS = {
    "medical_history": "Cardiovascular, hepatic, renal, neurological and other conditions, past and current.",
    "psychiatric_history": "Each diagnosis with its code; the onset date matters for duration criteria.",
    "medications": "Current and recent medications. The drug class decides the washout period.",
    "vitals": "Enter the systolic and diastolic of one blood-pressure reading together; repeat for each reading.",
    "ecg": "Values from the screening ECG, and whether the rhythm is abnormal.",
    "labs": "Choose the unit the laboratory reported; the reference range is optional.",
    "pregnancy": "The newest answer counts.",
    "instruments": "The CAPS-5 and MADRS totals are entered by the rater who gave the interview.",
}
# The kinds of entry as ``selectors.access_entry`` names them, for the "entered in error" URL.
ENTRY_KINDS: dict[type[Any], str] = {model: kind for kind, model in selectors.ENTRY_MODELS.items()}


# Helpers ------------------------------------------------------------------------------------------
def user_of(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def number(value: Decimal) -> str:
    """A stored decimal without its trailing zeros: 128.000 → 128, 0.700 → 0.7."""
    return format(value.normalize(), "f")


def when(at: datetime | date, time_zone: str) -> str:
    if isinstance(at, datetime):
        return local(at, time_zone).strftime("%Y-%m-%d %H:%M")
    return at.strftime("%Y-%m-%d")


def site_now(course: EnrollmentCourse) -> datetime:
    """Now in the site's time zone, to the minute: the default "measured at"."""
    return local(now(), course.site.time_zone).replace(second=0, microsecond=0)


def may_enter(course: EnrollmentCourse, roles: frozenset[Role]) -> bool:
    return bool(roles & services.ENTRY_ROLES) and course.status in services.OPEN_STATUSES


def is_rater_only(course: EnrollmentCourse, roles: frozenset[Role]) -> bool:
    return (
        Role.BLINDED_RATER in roles
        and not roles & services.ENTRY_ROLES
        and course.status in services.OPEN_STATUSES
    )


def rename_fields(error: DomainError, names: Mapping[str, str]) -> DomainError:
    """``error`` with its field paths renamed to the form's (``value`` → ``qtc``)."""
    error.fields = {names.get(k, k): v for k, v in error.fields.items()}
    return error


def run(form: forms.Form, call: Callable[[dict[str, Any]], object]) -> int | None:
    """Validate ``form`` and call the service; None on success, else the status to answer with."""
    if not form.is_valid():
        return 422
    try:
        call(form.cleaned_data)
    except DomainError as error:
        attach_error(form, error)
        return error.status
    return None


def section_of(entry: Entry) -> str:
    if isinstance(entry, HistoryItem):
        return "psychiatric_history" if entry.category == "psychiatric" else "medical_history"
    if isinstance(entry, PsychedelicUse):
        return "psychedelic_use"
    if isinstance(entry, MedicationEntry):
        return "medications"
    if isinstance(entry, ScreeningMeasurement):
        spec = services.FIELDS.get(entry.field)
        return spec.section if spec is not None else "vitals"
    return services.FLAGS.get(entry.name, "pregnancy")


def add_form(course: EnrollmentCourse, section: str, roles: frozenset[Role]) -> forms.Form | None:
    """The add form ``section`` offers these roles, or None."""
    if may_enter(course, roles):
        return _form(course, section, rater_only=False)
    if is_rater_only(course, roles) and section == "instruments":
        return _form(course, section, rater_only=True)
    return None


def posted_form(course: EnrollmentCourse, section: str, roles: frozenset[Role], data: Any) -> forms.Form:
    """The form a post to ``section`` is read with: the one offered, or the full one when none is,
    so that the service, not the page, refuses the write (and says why)."""
    raters = is_rater_only(course, roles) and section == "instruments"
    return _form(course, section, rater_only=raters, data=data)


def _form(course: EnrollmentCourse, section: str, *, rater_only: bool, data: Any = None) -> forms.Form:
    auto_id = f"id_{section}_%s"
    simple = section_forms().get(section)
    if simple is not None:
        return simple(data, auto_id=auto_id)
    return MeasurementsForm(
        data, section=section, rater_only=rater_only, measured_at=site_now(course), auto_id=auto_id
    )


# Sections of the record ---------------------------------------------------------------------------
@dataclass
class EntryRow:
    kind: str
    id: uuid.UUID
    label: str
    value: str
    details: str
    when: str
    by: str
    in_error: bool
    error_reason: str
    error_form: forms.Form | None = None


@dataclass
class Section:
    code: str
    title: str
    hint: str
    form: forms.Form | None
    entries: list[EntryRow]
    now: list[tuple[str, str]]  # what counts now, for findings where the newest entry counts
    complete: bool
    complete_form: forms.Form | None
    saved: str = ""

    @property
    def is_measurements(self) -> bool:
        return isinstance(self.form, MeasurementsForm)


def _row(entry: Entry, tz: str) -> tuple[str, EntryRow]:
    kind = ENTRY_KINDS[type(entry)]
    base: dict[str, Any] = {
        "kind": kind,
        "id": entry.public_id,
        "by": entry.entered_by.printed_name or entry.entered_by.username,
        "in_error": entry.entered_in_error,
        "error_reason": entry.error_reason,
        "when": when(entry.created_at, tz),
    }
    if isinstance(entry, HistoryItem):
        category = psychiatric_label(entry.code) if entry.code else entry.category.capitalize()
        onset = f" · onset {when(entry.onset, tz)}" if entry.onset else ""
        details = f"{'current' if entry.current else 'past'}{onset}"
        return section_of(entry), EntryRow(label=entry.condition, value=category, details=details, **base)
    if isinstance(entry, PsychedelicUse):
        last = f" · last {when(entry.last_use, tz)}" if entry.last_use else ""
        setting = "in clinical care" if entry.clinical else "outside clinical care"
        value = f"{entry.lifetime_count} time{'' if entry.lifetime_count == 1 else 's'}"
        return "psychedelic_use", EntryRow(
            label=entry.substance, value=value, details=f"{setting}{last}", **base
        )
    if isinstance(entry, MedicationEntry):
        found = drug_classes().get(entry.drug_class)
        value = f"{found.name}, washout {found.washout_days} days" if found else "no class of the table"
        span = f"{when(entry.start, tz) if entry.start else '?'} → {when(entry.stop, tz) if entry.stop else 'still taking'}"
        label = f"{entry.name} {entry.dose}".strip()
        return "medications", EntryRow(label=label, value=value, details=span, **base)
    if isinstance(entry, ScreeningMeasurement):
        spec = services.FIELDS.get(entry.field)
        unit = unit_label(entry.unit)
        details = ""
        if entry.reference_low is not None or entry.reference_high is not None:
            low = number(entry.reference_low) if entry.reference_low is not None else "?"
            high = number(entry.reference_high) if entry.reference_high is not None else "?"
            details = f"reference {low}–{high} {unit}"
        base["when"] = when(entry.measured_at, tz)
        label = spec.label if spec else entry.field
        return section_of(entry), EntryRow(
            label=label, value=f"{number(entry.value)} {unit}", details=details, **base
        )
    label = FLAG_LABELS.get(entry.name, entry.name)
    return section_of(entry), EntryRow(label=label, value="yes" if entry.value else "no", details="", **base)


def _entries(record: ScreeningRecord | None, tz: str) -> dict[str, list[EntryRow]]:
    rows: dict[str, list[EntryRow]] = {s: [] for s in SECTIONS}
    if record is None:
        return rows
    entries = selectors.entry_lists(record)
    order = {name: n for n, name in enumerate(services.FIELDS)}
    measurements = sorted(
        entries.measurements,
        key=lambda m: (order.get(m.field, len(order)), m.measured_at, m.created_at, m.pk),
    )
    groups: list[list[Entry]] = [
        list(entries.history),
        list(entries.psychedelic_use),
        list(entries.medications),
        list(measurements),
        list(entries.flags),
    ]
    for group in groups:
        for entry in group:
            section, row = _row(entry, tz)
            rows[section].append(row)
    return rows


def _now_lines(record: ScreeningRecord | None, rows: list[EntryRow], section: str) -> list[tuple[str, str]]:
    """The findings that count now: the newest current entry of each flag, and the C-SSRS risk."""
    lines: dict[str, str] = {}
    for name, flag_section in services.FLAGS.items():
        if flag_section == section:
            lines[FLAG_LABELS.get(name, name)] = "not recorded"
    for row in rows:
        if row.kind == "flags" and not row.in_error:
            lines[row.label] = row.value
    if section == "instruments":
        risk = record.cssrs_risk if record is not None else ""
        lines["C-SSRS screener risk"] = CSSRS_LABELS.get(risk, "not recorded") if risk else "not recorded"
    return list(lines.items())


@dataclass
class Bound:
    """A refused form to show in place of a fresh one, and a "saved" line to show."""

    add: forms.Form | None = None
    errors: dict[uuid.UUID, forms.Form] = field(default_factory=dict)
    complete: forms.Form | None = None
    saved: str = ""


def sections(
    course: EnrollmentCourse,
    roles: frozenset[Role],
    *,
    only: str | None = None,
    bound: Mapping[str, Bound] | None = None,
) -> list[Section]:
    bound = bound or {}
    tz = course.site.time_zone
    record = selectors.record_of(course)
    rows = _entries(record, tz)
    done = set(record.sections_complete) if record is not None else set()
    can_correct = may_enter(course, roles)
    result = []
    for code in SECTIONS:
        if only is not None and code != only:
            continue
        mine = bound.get(code, Bound())
        for row in rows[code]:
            if not row.in_error and (can_correct or row.id in mine.errors):
                row.error_form = mine.errors.get(row.id) or EntryErrorForm(
                    auto_id=f"id_err_{row.id.hex[:8]}_%s"
                )
        complete_form = mine.complete or (
            SectionCompleteForm(initial={"complete": code in done}, auto_id=f"id_done_{code}_%s")
            if can_correct
            else None
        )
        result.append(
            Section(
                code=code,
                title=SECTION_TITLES[code],
                hint=SECTION_HINTS.get(code, ""),
                form=mine.add or add_form(course, code, roles),
                entries=rows[code],
                now=_now_lines(record, rows[code], code),
                complete=code in done,
                complete_form=complete_form,
                saved=mine.saved,
            )
        )
    return result


def in_site_time(course: EnrollmentCourse) -> timezone.override:
    """Parse and show dates and times as the site's wall clock."""
    return timezone.override(course.site.time_zone)
