"""The eligibility panel: the latest evaluation, criterion by criterion, with the overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django import forms

from haven.accounts.models import Role
from haven.audit.signatures import SignatureView, signatures_for_many
from haven.patients.models import EnrollmentCourse
from haven.protocols.selectors import protocol_of
from haven.screening import selectors, services
from haven.screening.forms import OverrideForm
from haven.screening.models import EligibilityOverride, Overall
from haven.screening.views.common import when

STATUS_LABELS = {"met": "Met", "not_met": "Not met", "missing": "Missing data", "pending": "Pending"}
STATUS_BADGES = {"met": "ok", "not_met": "bad", "missing": "warn", "pending": "warn"}
OVERALL_BADGES = {
    Overall.ELIGIBLE: "ok",
    Overall.INELIGIBLE: "bad",
    Overall.INCOMPLETE: "warn",
    Overall.ELIGIBLE_FROM: "warn",
}


@dataclass
class CriterionRow:
    number: int
    code: str
    kind: str
    text: str
    status: str
    status_label: str
    badge: str
    value: str
    threshold: str
    message: str
    overridable: bool
    override: EligibilityOverride | None
    signatures: list[SignatureView]
    form: forms.Form | None
    forbidden: bool  # the physician would be offered an override, but the protocol forbids it


@dataclass
class Panel:
    overall: str
    overall_label: str
    badge: str
    evaluated_at: str
    evaluated_on: str
    trigger: str
    protocol: str
    criteria: list[CriterionRow]
    overrides: list[tuple[EligibilityOverride, str, list[SignatureView]]]
    can_override: bool
    saved: str = ""
    errors: list[str] = field(default_factory=list)  # of a refused override with no form to show it


def _without_override(message: str, override: EligibilityOverride | None) -> str:
    """The engine's message without the override sentence it appends: the panel names the signer."""
    suffix = f" Overridden by a physician: {override.reason}" if override is not None else ""
    return message.removesuffix(suffix) if suffix else message


def overall_label(overall: str, eligible_from: date | None) -> str:
    if overall == Overall.ELIGIBLE_FROM and eligible_from is not None:
        return f"Eligible from {eligible_from:%Y-%m-%d}"
    return Overall(overall).label


def panel(
    course: EnrollmentCourse,
    roles: frozenset[Role],
    *,
    bound: forms.Form | None = None,
    saved: str = "",
) -> Panel:
    """The latest evaluation, each criterion with the overrides that touch it and, for a
    physician while screening is open, the override form of each criterion not met or missing."""
    tz = course.site.time_zone
    protocol = protocol_of(course.protocol_version)
    overridable = {c.code: c.overridable for c in protocol.eligibility}
    latest = selectors.eligibility_latest(course)
    overrides = {o.criterion_code: o for o in selectors.override_list(course)}
    signatures = signatures_for_many(list(overrides.values()))
    can_override = Role.PHYSICIAN in roles and course.status in services.OPEN_STATUSES
    bound_code = bound["criterion_code"].value() if bound is not None else None
    if latest is None:
        # Nothing has been entered: no evaluation exists, and a page view does not make one.
        raw: list[dict[str, Any]] = [
            {
                "code": c.code,
                "kind": c.kind.value,
                "text": c.text,
                "status": "missing",
                "value": "",
                "threshold": "",
                "message": "Not evaluated yet: enter the screening data.",
                "pending_until": None,
            }
            for c in protocol.eligibility
        ]
    else:
        raw = list(latest.criteria)
    rows = []
    placed = False
    for n, item in enumerate(raw, start=1):
        code = str(item["code"])
        override = overrides.get(code)
        status = str(item["status"])
        open_for_override = can_override and override is None and status in ("not_met", "missing")
        allowed = overridable.get(code, False)
        form: forms.Form | None = None
        if open_for_override and allowed:
            placed = placed or (bound is not None and bound_code == code)
            form = (
                bound
                if bound is not None and bound_code == code
                else OverrideForm(initial={"criterion_code": code}, auto_id=f"id_ov_{code}_%s")
            )
        label = STATUS_LABELS.get(status, status)
        if status == "pending" and item.get("pending_until"):
            label = f"Pending until {item['pending_until']}"
        rows.append(
            CriterionRow(
                number=n,
                code=code,
                kind=str(item["kind"]),
                text=str(item["text"]),
                status=status,
                status_label=label,
                badge=STATUS_BADGES.get(status, ""),
                value=str(item.get("value") or ""),
                threshold=str(item.get("threshold") or ""),
                message=_without_override(str(item.get("message") or ""), override),
                overridable=allowed,
                override=override,
                signatures=signatures.get(override.public_id, []) if override else [],
                form=form,
                forbidden=open_for_override and not allowed,
            )
        )
    if latest is None:
        overall, label, evaluated_at, evaluated_on, trigger = Overall.INCOMPLETE, "Incomplete", "", "", ""
    else:
        overall = Overall(latest.overall)
        label = overall_label(latest.overall, latest.eligible_from)
        evaluated_at = when(latest.created_at, tz)
        evaluated_on = when(latest.evaluated_on, tz)
        trigger = latest.trigger
    return Panel(
        overall=overall.value,
        overall_label=label,
        badge=OVERALL_BADGES[overall],
        evaluated_at=evaluated_at,
        evaluated_on=evaluated_on,
        trigger=trigger,
        protocol=f"{course.protocol_version.code} {course.protocol_version.version}",
        criteria=rows,
        overrides=[(o, when(o.created_at, tz), signatures.get(o.public_id, [])) for o in overrides.values()],
        can_override=can_override,
        saved=saved,
        errors=[] if bound is None or placed else [str(m) for ms in bound.errors.values() for m in ms],
    )
