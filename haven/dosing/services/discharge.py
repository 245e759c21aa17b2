"""Discharge: the protocol's criteria checked by Haven, attested by the therapists, then recorded.

Haven computes what it can measure (time since the dose, vitals within limits and near the
pre-dose baseline, SUDS at or below baseline, no open alert or emergency). Each therapist then
attests, with an e-signature, to what only a person can judge (alert and oriented, escort
present). Discharge needs both. Where the protocol's visit requires an overnight stay, whether the
patient stayed is recorded. Discharging records the visit as taken place, which re-plans the
post-session check-ins from the actual date; they are listed in the discharge summary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db import transaction

from haven.accounts.models import Role
from haven.accounts.signing import reauthenticate
from haven.audit.context import Actor
from haven.audit.models import SignatureMeaning
from haven.audit.services import audit_create, audit_update
from haven.audit.signatures import signature_record
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from haven.core.time import local, now
from haven.dosing.models import (
    Alert,
    AlertStatus,
    DischargeAttestation,
    DosingSession,
    Emergency,
    EmergencyStatus,
    Observation,
    Presence,
    SessionStatus,
)
from haven.dosing.services.session import _baseline, _fresh, _rules, _staff, announce
from haven.dosing.vitals import AlertKind, findings
from haven.patients.models import Visit, VisitStatus
from haven.patients.services import visit_record_occurrence
from haven.protocols.schema import VitalSign
from haven.protocols.selectors import protocol_of


@dataclass(frozen=True)
class Criterion:
    code: str
    text: str
    met: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    criteria: list[Criterion]
    attestations: list[DischargeAttestation]
    attestations_required: int
    overnight_required: bool

    @property
    def criteria_met(self) -> bool:
        return all(c.met for c in self.criteria)

    @property
    def ready(self) -> bool:
        return self.criteria_met and len(self.attestations) >= self.attestations_required


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def discharge_criteria(session: DosingSession) -> list[Criterion]:
    """The criteria Haven measures, as of now."""
    _, monitoring = _rules(session)
    rules = monitoring.discharge
    moment = now()
    criteria: list[Criterion] = []
    if session.first_dose_at is None:
        return [Criterion("dosed", "A dose has been given", False, "no dose yet")]
    elapsed = int((moment - session.first_dose_at).total_seconds() // 60)
    criteria.append(
        Criterion(
            "minimum_time",
            f"At least {monitoring.minimum_minutes} minutes of monitoring since the first dose",
            elapsed >= monitoring.minimum_minutes,
            f"{elapsed} min so far",
        )
    )
    after = Observation.objects.filter(
        session=session, entered_in_error=False, observed_at__gt=session.first_dose_at
    ).order_by("observed_at", "pk")
    latest: dict[VitalSign, Decimal] = {}
    for observation in after:
        latest[VitalSign(observation.parameter)] = observation.value
    baseline = _baseline(session)
    if rules.vitals_within_limits:
        outside = [
            f"{parameter.value} {_fmt(value)}"
            for parameter, value in latest.items()
            for f in findings(monitoring, parameter, value, {})
            if f.kind == AlertKind.LIMIT
        ]
        missing = [p.value for p in monitoring.limits if p not in latest]
        criteria.append(
            Criterion(
                "within_limits",
                "The latest vital signs are within the protocol's limits",
                not outside and not missing,
                "outside: " + ", ".join(outside)
                if outside
                else (
                    "not measured since the dose: " + ", ".join(missing) if missing else "all within limits"
                ),
            )
        )
    far = []
    for parameter, tolerance in rules.near_baseline.items():
        if (
            parameter in baseline
            and parameter in latest
            and abs(latest[parameter] - baseline[parameter]) > tolerance
        ):
            far.append(
                f"{parameter.value} {_fmt(latest[parameter])} vs baseline {_fmt(baseline[parameter])} (± {_fmt(tolerance)})"
            )
    criteria.append(
        Criterion(
            "near_baseline",
            "The latest vital signs are near the pre-dose baseline",
            not far,
            "; ".join(far) if far else "within the allowed difference",
        )
    )
    if rules.suds_at_or_below_baseline:
        suds, base = latest.get(VitalSign.SUDS), baseline.get(VitalSign.SUDS)
        if base is None:
            met, detail = False, "no SUDS before the dose"
        elif suds is None:
            met, detail = False, "no SUDS since the dose"
        else:
            met, detail = suds <= base, f"SUDS {_fmt(suds)}, baseline {_fmt(base)}"
        criteria.append(Criterion("suds", "SUDS at or below the pre-dose baseline", met, detail))
    open_alerts = Alert.objects.filter(session=session, status=AlertStatus.OPEN).count()
    criteria.append(
        Criterion(
            "alerts",
            "No alert left unacknowledged",
            open_alerts == 0,
            f"{open_alerts} open" if open_alerts else "none open",
        )
    )
    emergencies = Emergency.objects.filter(session=session, status=EmergencyStatus.OPEN).count()
    criteria.append(
        Criterion(
            "emergency",
            "No open emergency",
            emergencies == 0,
            "an emergency is open" if emergencies else "none open",
        )
    )
    return criteria


def _overnight_required(session: DosingSession) -> bool:
    protocol = protocol_of(session.course.protocol_version)
    definition = next((v for v in protocol.visits if v.code == session.visit.definition_code), None)
    return bool(definition and definition.overnight)


def discharge_readiness(session: DosingSession) -> Readiness:
    _, monitoring = _rules(session)
    return Readiness(
        criteria=discharge_criteria(session),
        attestations=list(
            DischargeAttestation.objects.filter(session=session)
            .select_related("therapist")
            .order_by("created_at")
        ),
        attestations_required=monitoring.discharge.therapist_attestations,
        overnight_required=_overnight_required(session),
    )


def _unmet(criteria: list[Criterion]) -> dict[str, list[str]]:
    return {c.code: [f"{c.text}: {c.detail}"] for c in criteria if not c.met}


def discharge_attest(
    *,
    actor: Actor,
    session: DosingSession,
    alert_and_oriented: bool,
    escort_present: bool,
    escort_name: str = "",
    note: str = "",
    password: str,
    otp_code: str = "",
) -> DischargeAttestation:
    """A therapist in the room attests the patient may go, and signs it."""
    session = _fresh(session)
    user = _staff(actor, session, "Attesting discharge")
    _, monitoring = _rules(session)
    if session.status != SessionStatus.DOSED:
        raise field_error("session", "only a dosed session under monitoring is discharged")
    if not Presence.objects.filter(
        session=session, user=user, role=Role.THERAPIST, checked_out_at__isnull=True
    ).exists():
        raise PermissionDenied("Discharge is attested by a therapist present in the room.")
    problems: dict[str, list[str]] = {}
    if not alert_and_oriented:
        problems["alert_and_oriented"] = ["the patient must be alert and oriented to be discharged"]
    if monitoring.discharge.escort_required and not escort_present:
        problems["escort_present"] = ["the protocol requires an escort to be present"]
    if escort_present and not escort_name.strip():
        problems["escort_name"] = ["name the escort"]
    criteria = discharge_criteria(session)
    problems |= _unmet(criteria)
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems, code="discharge_refused")
    if DischargeAttestation.objects.filter(session=session, therapist=user).exists():
        raise Conflict("You have already attested this discharge.")
    reauthenticate(actor=actor, password=password, otp_code=otp_code)
    with transaction.atomic():
        attestation = DischargeAttestation.objects.create(
            session=session,
            therapist=user,
            alert_and_oriented=alert_and_oriented,
            escort_present=escort_present,
            escort_name=escort_name.strip(),
            note=note.strip(),
            criteria={"at": now().isoformat(), "criteria": [asdict(c) for c in criteria]},
        )
        audit_create(
            actor=actor,
            instance=attestation,
            fields=("alert_and_oriented", "escort_present", "escort_name", "note"),
            site_id=session.course.site.public_id,
        )
        signature_record(actor=actor, record=attestation, meaning=SignatureMeaning.APPROVED)
        announce(session, "discharge")
    return attestation


def session_discharge(
    *, actor: Actor, session: DosingSession, overnight_stay: bool | None = None
) -> DosingSession:
    session = _fresh(session)
    user = _staff(actor, session, "Discharging")
    if session.status != SessionStatus.DOSED:
        raise field_error("session", "only a dosed session under monitoring is discharged")
    readiness = discharge_readiness(session)
    problems = _unmet(readiness.criteria)
    if len(readiness.attestations) < readiness.attestations_required:
        problems["attestations"] = [
            f"{readiness.attestations_required} therapists attest; {len(readiness.attestations)} have"
        ]
    if readiness.overnight_required and overnight_stay is None:
        problems["overnight_stay"] = [
            "the protocol requires an overnight stay: record whether the patient stayed"
        ]
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems, code="discharge_refused")
    site = session.course.site
    moment = now()
    with transaction.atomic():
        locked = DosingSession.objects.select_for_update().get(pk=session.pk)
        if locked.status != SessionStatus.DOSED:
            raise Conflict("The session has already been discharged.")
        visit = Visit.objects.get(pk=session.visit_id)
        if visit.status == VisitStatus.PLANNED:
            assert session.first_dose_at is not None
            visit_record_occurrence(
                actor=actor, visit=visit, occurred_on=local(session.first_dose_at, site.time_zone).date()
            )
        check_ins = [
            {"code": v.code, "name": v.name, "target_date": v.target_date.isoformat()}
            for v in Visit.objects.filter(
                course=session.course, kind="phone-check-in", status=VisitStatus.PLANNED
            ).order_by("target_date", "pk")
            if v.target_date >= local(moment, site.time_zone).date()
        ][:14]
        summary = {
            "criteria": [asdict(c) for c in readiness.criteria],
            "attestations": [
                {
                    "therapist": a.therapist.printed_name,
                    "at": a.created_at.isoformat(),
                    "escort": a.escort_name,
                }
                for a in readiness.attestations
            ],
            "check_ins": check_ins,
        }
        for presence in Presence.objects.select_for_update().filter(
            session=session, checked_out_at__isnull=True
        ):
            presence.checked_out_at = moment
            presence.save(update_fields=["checked_out_at", "updated_at"])
            audit_update(
                actor=actor,
                instance=presence,
                changes={"checked_out_at": {"old": None, "new": moment}},
                site_id=site.public_id,
                reason="session discharged",
            )
        locked.status, locked.discharged_at, locked.discharged_by = SessionStatus.DISCHARGED, moment, user
        locked.overnight_stay, locked.discharge_summary = overnight_stay, summary
        locked.staffing_gap_since = None
        locked.save()
        audit_update(
            actor=actor,
            instance=locked,
            changes={
                "status": {"old": "dosed", "new": "discharged"},
                "discharged_at": {"old": None, "new": moment},
                "overnight_stay": {"old": None, "new": overnight_stay},
            },
            site_id=site.public_id,
            reason="discharge criteria met and attested",
        )
        announce(locked, "discharge")
    return locked
