"""Randomizing is one audited, race-safe action; unblinding one patient in an emergency is another.

Neither writes the arm into the audit trail (auditors read it): the audit entry names the study,
the stratum and the position in the concealed list, which only the list's holders can resolve.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max

from haven.accounts.models import Role, Site, User
from haven.accounts.selectors import roles_for
from haven.accounts.signing import reauthenticate
from haven.audit.context import Actor
from haven.audit.models import AuditAction, SignatureMeaning
from haven.audit.services import audit_create, audit_record
from haven.audit.signatures import signature_record
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from haven.dosing.services.oncall import notify
from haven.patients.models import CourseStatus, EnrollmentCourse
from haven.trials.allocation import permuted_blocks
from haven.trials.models import AllocationSlot, Kit, Randomization, Study, Unblinding

RANDOMIZE_ROLES = frozenset({Role.COORDINATOR, Role.PHYSICIAN})
ON_STUDY = (CourseStatus.PREPARATION, CourseStatus.TREATMENT, CourseStatus.INTEGRATION)
LIST_CHUNK = 48


def study_create(
    *,
    actor: Actor,
    protocol_code: str,
    title: str,
    arms: Sequence[Mapping[str, object]],
    factors: Sequence[str] = ("site",),
    block_multiples: Sequence[int] = (1, 2),
    unblinded_roles: Sequence[str] = (),
    statisticians: Sequence[User] = (),
) -> Study:
    """A study and its secret seed. Only the people named as statisticians will see the list."""
    user = actor.user
    if user is None:
        raise PermissionDenied("A study is set up by a person.")
    problems: dict[str, list[str]] = {}
    codes = [str(a.get("code", "")).strip() for a in arms]
    if len(arms) < 2 or any(not c for c in codes) or len(set(codes)) != len(codes):
        problems.setdefault("arms", []).append("at least two arms, each with its own code")
    ratios = [a.get("ratio", 1) for a in arms]
    if any(not isinstance(r, int) or r < 1 or r > 10 for r in ratios):
        problems.setdefault("arms", []).append("each ratio is a whole number from 1 to 10")
    if not block_multiples or any(not isinstance(m, int) or not 1 <= m <= 6 for m in block_multiples):
        problems.setdefault("block_multiples", []).append("whole numbers from 1 to 6")
    if any(r not in Role.values for r in unblinded_roles):
        problems.setdefault("unblinded_roles", []).append(f"roles are {', '.join(Role.values)}")
    if Role.BLINDED_RATER in unblinded_roles:
        problems.setdefault("unblinded_roles", []).append("a blinded rater is never unblinded")
    if problems:
        first, messages = next(iter(problems.items()))
        raise ValidationFailed(f"{first}: {messages[0]}", fields=problems)
    with transaction.atomic():
        if Study.objects.filter(protocol_code=protocol_code).exists():
            raise Conflict("This protocol already has a study.")
        study = Study.objects.create(
            protocol_code=protocol_code,
            title=title.strip() or protocol_code,
            arms=[
                {
                    "code": c,
                    "label": str(a.get("label") or c),
                    "ratio": int(str(a.get("ratio", 1))),
                    "control": bool(a.get("control", False)),
                }
                for c, a in zip(codes, arms, strict=True)
            ],
            factors=list(factors),
            block_multiples=list(block_multiples),
            seed=secrets.token_hex(32),
            unblinded_roles=list(unblinded_roles),
            created_by=user,
        )
        study.unblinded_statisticians.set(statisticians)
        audit_create(
            actor=actor,
            instance=study,
            fields=("protocol_code", "title", "arms", "factors", "block_multiples", "unblinded_roles"),
            site_id=None,
        )
    return study


def stratum_of(study: Study, course: EnrollmentCourse, factors: Mapping[str, str]) -> str:
    values = []
    for factor in study.factors:
        if factor == "site":
            values.append(f"site={course.site.code}")
            continue
        value = str(factors.get(factor, "")).strip()
        if not value:
            raise field_error(f"factors.{factor}", "is required to randomize")
        values.append(f"{factor}={value}")
    return "|".join(values) or "all"


def _ensure_slots(study: Study, stratum: str) -> None:
    """Extend the stratum's list when no free slot is left (deterministic from the seed)."""
    used_or_made = AllocationSlot.objects.filter(study=study, stratum=stratum)
    free = used_or_made.filter(randomization__isnull=True).exists()
    if free:
        return
    made = used_or_made.aggregate(top=Max("sequence"))["top"] or 0
    allocations = permuted_blocks(
        seed=study.seed,
        stratum=stratum,
        arms=[(a["code"], int(a["ratio"])) for a in study.arms],
        multiples=study.block_multiples,
        count=made + LIST_CHUNK,
    )
    AllocationSlot.objects.bulk_create(
        AllocationSlot(study=study, stratum=stratum, sequence=i, block=block, arm=arm)
        for i, (block, arm) in enumerate(allocations, start=1)
        if i > made
    )


def randomize(
    *, actor: Actor, course: EnrollmentCourse, factors: Mapping[str, str] | None = None
) -> Randomization:
    """Allocate the course the next free slot of its stratum. Two at once never take the same slot:
    the study row is locked for the allocation, and a slot belongs to one randomization only."""
    user = actor.user
    site = course.site
    if user is None or not roles_for(user, site) & RANDOMIZE_ROLES:
        raise PermissionDenied("Randomizing needs the coordinator or physician role.")
    if course.status not in ON_STUDY:
        raise field_error("course", "randomize a patient once enrolled and on study")
    factors = dict(factors or {})
    with transaction.atomic():
        study = Study.objects.select_for_update().filter(protocol_code=course.protocol_code).first()
        if study is None:
            raise field_error("course", "this protocol has no randomized study")
        if Randomization.objects.filter(course=course).exists():
            raise Conflict("This patient is already randomized.")
        stratum = stratum_of(study, course, factors)
        _ensure_slots(study, stratum)
        slot = (
            AllocationSlot.objects.filter(study=study, stratum=stratum, randomization__isnull=True)
            .order_by("sequence")
            .first()
        )
        assert slot is not None
        kit = None
        if Kit.objects.filter(study=study).exists():
            kit = (
                Kit.objects.select_for_update(of=("self",))
                .filter(study=study, site=site, arm=slot.arm, randomization__isnull=True)
                .order_by("number")
                .first()
            )
            if kit is None:
                # Said without the arm: the message must not unblind whoever reads it.
                raise Conflict("No free kit for this patient at this site: ask the sponsor for supply.")
        randomization = Randomization.objects.create(
            course=course, study=study, slot=slot, kit=kit, factors=factors, randomized_by=user
        )
        # The position in the list, never the arm: auditors read the trail.
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            record_type=randomization.record_type(),
            record_id=str(randomization.public_id),
            site_id=site.public_id,
            changes={
                "study": {"old": None, "new": study.protocol_code},
                "stratum": {"old": None, "new": stratum},
                "sequence": {"old": None, "new": slot.sequence},
                "factors": {"old": None, "new": factors},
                "kit": {"old": None, "new": kit.number if kit else None},
            },
        )
    return randomization


def may_see_arm(user: User, randomization: Randomization) -> bool:
    study, site = randomization.study, randomization.course.site
    if study.unblinded_statisticians.filter(pk=user.pk).exists():
        return True
    if Role.BLINDED_RATER in roles_for(user, site):
        return False
    if set(study.unblinded_roles) & {r.value for r in roles_for(user, site)}:
        return True
    return Unblinding.objects.filter(randomization=randomization, physician=user).exists()


def arm_for(user: User, randomization: Randomization) -> str | None:
    """The patient's arm if ``user`` may see it; None (blinded) otherwise."""
    return randomization.slot.arm if may_see_arm(user, randomization) else None


def emergency_unblind(
    *, actor: Actor, randomization: Randomization, reason: str, password: str, otp_code: str = ""
) -> str:
    """A physician unblinds one patient: a reason, an e-signature, the sponsor's monitors and the
    study's statisticians notified; the physician then sees the arm (and is told it now)."""
    user = actor.user
    course = randomization.course
    site = course.site
    if user is None or Role.PHYSICIAN not in roles_for(user, site):
        raise PermissionDenied("Only a physician unblinds a patient.")
    if not reason.strip():
        raise field_error("reason", "say why the patient must be unblinded")
    reauthenticate(actor=actor, password=password, otp_code=otp_code)
    with transaction.atomic():
        unblinding = Unblinding.objects.create(
            randomization=randomization, physician=user, reason=reason.strip()
        )
        audit_create(actor=actor, instance=unblinding, fields=("reason",), site_id=site.public_id)
        signature_record(actor=actor, record=unblinding, meaning=SignatureMeaning.APPROVED)
        monitors = list(
            User.objects.filter(
                memberships__site=site, memberships__role=Role.SPONSOR_MONITOR, is_active=True
            ).distinct()
        )
        notify(
            actor=actor,
            site=site,
            recipients=[*monitors, *randomization.study.unblinded_statisticians.all()],
            subject=f"Haven: emergency unblinding of {course.patient.study_id}",
            body=f"{user.printed_name} unblinded {course.patient.study_id} in {randomization.study.title}. Reason: {reason.strip()}",
            about=unblinding,
        )
    return randomization.slot.arm


def control_arm(study: Study) -> str:
    """The study's control arm: the one marked ``"control": true``, else the one named placebo."""
    for arm in study.arms:
        if arm.get("control"):
            return str(arm["code"])
    for arm in study.arms:
        if "placebo" in f"{arm['code']} {arm.get('label', '')}".lower() or str(arm["code"]).upper() == "PBO":
            return str(arm["code"])
    return str(study.arms[-1]["code"])


def blinding_summary(*, user: User, study: Study) -> dict[str, dict[str, Any]]:
    """For each kind of respondent (participant, therapist, rater): Bang's blinding index per arm
    and James' index over the arms, from the treatment-guess forms of the study's randomized
    patients. A guess of "placebo" names the control arm, "active" any other; "don't know" counts
    as no guess. Each patient counts once per kind of respondent, with the latest guess (the indices'
    variances assume independent answers; the protocol may ask at several visits, and the latest is
    the one closest to the end of treatment). Statisticians only."""
    from dataclasses import asdict

    from haven.outcomes.models import Response
    from haven.trials.stats.blinding import bang_index, james_index

    if not study.unblinded_statisticians.filter(pk=user.pk).exists():
        raise PermissionDenied("Only the study's unblinded statisticians see the blinding summary.")
    control = control_arm(study)
    arms = [str(a["code"]) for a in study.arms]
    allocated = {
        r.course_id: r.slot.arm for r in Randomization.objects.filter(study=study).select_related("slot")
    }
    guesses: dict[str, list[tuple[str, str | None]]] = {"participant": [], "therapist": [], "rater": []}
    responses = (
        Response.objects.filter(course_id__in=allocated, instrument="treatment_guess", entered_in_error=False)
        .prefetch_related("scores")
        .order_by("-completed_at", "-pk")
    )
    counted: set[tuple[int, str]] = set()
    for response in responses:
        score = max(response.scores.all(), key=lambda s: (s.created_at, s.pk), default=None)
        if score is None:
            continue
        respondent, guess = score.detail.get("respondent"), score.detail.get("arm_guess")
        if respondent not in guesses or guess is None or (response.course_id, respondent) in counted:
            continue
        counted.add((response.course_id, respondent))
        true_arm = allocated[response.course_id]
        if guess == "dont_know":
            named = None
        elif guess == "placebo":
            named = control
        else:
            # "active" names the treatment arm; with several active arms it counts as correct for any.
            named = true_arm if true_arm != control else next(a for a in arms if a != control)
        guesses[respondent].append((true_arm, named))
    return {
        kind: {
            "bang": [asdict(b) for b in bang_index(rows, arms=arms)],
            "james": asdict(james_index(rows, arms=arms)),
        }
        for kind, rows in guesses.items()
    }


def kits_load(*, actor: Actor, study: Study, rows: Sequence[tuple[str, str, Site]]) -> int:
    """Load the sponsor's kit list (kit number, arm, site). Statisticians only: the list is concealed."""
    user = actor.user
    if user is None or not study.unblinded_statisticians.filter(pk=user.pk).exists():
        raise PermissionDenied("Only the study's unblinded statisticians load the kit list.")
    codes = {str(a["code"]) for a in study.arms}
    problems = [f"row {i + 1}: unknown arm" for i, (_, arm, _) in enumerate(rows) if arm not in codes]
    problems += [f"row {i + 1}: no kit number" for i, (number, _, _) in enumerate(rows) if not number.strip()]
    first_row: dict[str, int] = {}
    for i, (number, _, _) in enumerate(rows, start=1):
        key = number.strip()
        if key and key in first_row:
            problems.append(f"row {i}: kit number {key} is already on row {first_row[key]}")
        first_row.setdefault(key, i)
    if not rows:
        problems.append("the list has no kits")
    if problems:
        raise ValidationFailed(f"kits: {problems[0]}", fields={"kits": problems})
    with transaction.atomic():
        if Kit.objects.filter(study=study, number__in=[n.strip() for n, _, _ in rows]).exists():
            raise Conflict("Some of these kit numbers are already loaded.")
        Kit.objects.bulk_create(
            Kit(study=study, number=n.strip(), arm=arm, site=site) for n, arm, site in rows
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            record_type="trials.kitlist",
            record_id=str(study.public_id),
            site_id=None,
            changes={"kits": {"old": None, "new": len(rows)}},  # how many, never which arm
        )
    return len(rows)


def kit_for_session_check(*, course: EnrollmentCourse, kit_number: str) -> None:
    """For the ledger: a randomized patient with a kit receives only that kit."""
    randomization = Randomization.objects.filter(course=course).select_related("kit").first()
    if randomization is None or randomization.kit is None:
        return
    if kit_number != randomization.kit.number:
        raise field_error("lot", f"this patient's kit is {randomization.kit.number}")
