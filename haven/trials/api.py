"""Randomization API: randomize a course, read its allocation (the arm only for the unblinded),
emergency unblinding, and the concealed list for the study's statisticians."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from haven.accounts.auth import principal_actor, principal_user, user_auth
from haven.accounts.models import User
from haven.core.errors import NotFound, PermissionDenied
from haven.core.schemas import ERRORS
from haven.patients.selectors import access_course
from haven.trials import services
from haven.trials.models import AllocationSlot, Randomization, Study

router = Router(tags=["trials"])


class RandomizeIn(Schema):
    factors: dict[str, str] = {}


class RandomizationOut(Schema):
    study: str
    kit: str | None
    randomized_at: datetime
    factors: dict[str, str]
    blinded: bool
    arm: str | None


class UnblindIn(Schema):
    reason: str
    password: str
    otp_code: str = ""


class SlotOut(Schema):
    stratum: str
    sequence: int
    block: int
    arm: str
    used: bool


def _out(user: User, randomization: Randomization) -> RandomizationOut:
    arm = services.arm_for(user, randomization)
    return RandomizationOut(
        study=randomization.study.protocol_code,
        kit=randomization.kit.number if randomization.kit else None,
        randomized_at=randomization.created_at,
        factors=randomization.factors,
        blinded=arm is None,
        arm=arm,
    )


def _randomization(course_id: uuid.UUID, request: HttpRequest) -> Randomization:
    course = access_course(user=principal_user(request), course_id=course_id)
    randomization = (
        Randomization.objects.filter(course=course)
        .select_related("study", "slot", "kit", "course__site")
        .first()
    )
    if randomization is None:
        raise NotFound("This patient is not randomized.")
    return randomization


@router.post(
    "/courses/{course_id}/randomization",
    auth=user_auth,
    response={201: RandomizationOut, **ERRORS},
    summary="Randomize the patient (once)",
)
def randomize(request: HttpRequest, course_id: uuid.UUID, payload: RandomizeIn) -> Status[RandomizationOut]:
    user = principal_user(request)
    course = access_course(user=user, course_id=course_id)
    randomization = services.randomize(actor=principal_actor(request), course=course, factors=payload.factors)
    return Status(201, _out(user, randomization))


@router.get(
    "/courses/{course_id}/randomization",
    auth=user_auth,
    response={200: RandomizationOut, **ERRORS},
    summary="The allocation (the arm only if you are unblinded)",
)
def randomization_get(request: HttpRequest, course_id: uuid.UUID) -> RandomizationOut:
    return _out(principal_user(request), _randomization(course_id, request))


@router.post(
    "/courses/{course_id}/randomization/unblind",
    auth=user_auth,
    response={200: RandomizationOut, **ERRORS},
    summary="Emergency unblinding by a physician (signed)",
)
def unblind(request: HttpRequest, course_id: uuid.UUID, payload: UnblindIn) -> RandomizationOut:
    randomization = _randomization(course_id, request)
    services.emergency_unblind(
        actor=principal_actor(request),
        randomization=randomization,
        reason=payload.reason,
        password=payload.password,
        otp_code=payload.otp_code,
    )
    return _out(principal_user(request), randomization)


@router.get(
    "/studies/{protocol_code}/allocation-list",
    auth=user_auth,
    response={200: list[SlotOut], **ERRORS},
    summary="The concealed list (the study's unblinded statisticians only)",
)
def allocation_list(request: HttpRequest, protocol_code: str) -> list[SlotOut]:
    user = principal_user(request)
    study = Study.objects.filter(protocol_code=protocol_code).first()
    if study is None or not study.unblinded_statisticians.filter(pk=user.pk).exists():
        # The same answer whether or not the study exists: the list's existence is not for everyone.
        raise PermissionDenied("Only the study's unblinded statisticians see the allocation list.")
    slots = (
        AllocationSlot.objects.filter(study=study)
        .select_related("randomization")
        .order_by("stratum", "sequence")
    )
    return [
        SlotOut(
            stratum=s.stratum, sequence=s.sequence, block=s.block, arm=s.arm, used=hasattr(s, "randomization")
        )
        for s in slots
    ]


class BangOut(Schema):
    arm: str
    n: int
    correct: int
    incorrect: int
    dont_know: int
    index: float | None
    se: float | None
    lower: float | None
    upper: float | None


class JamesOut(Schema):
    n: int
    dont_know: int
    index: float | None
    se: float | None
    lower: float | None
    upper: float | None


class BlindingOut(Schema):
    bang: list[BangOut]
    james: JamesOut


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


@router.get(
    "/studies/{protocol_code}/blinding",
    auth=user_auth,
    response={200: dict[str, BlindingOut], **ERRORS},
    summary="Blinding integrity: Bang's index per arm and James' index, per respondent type (statisticians only)",
    description=(
        "For participants, therapists and raters (each patient's latest guess): Bang's index per arm (−1 to 1; 0 is random guessing, 1 "
        "unblinded) and James' index over the arms (0 unblinded, 0.5 random guessing, 1 blinded), each with "
        "a 95% normal-approximation interval. Undefined indices (no answers) are null."
    ),
)
def blinding(request: HttpRequest, protocol_code: str) -> dict[str, BlindingOut]:
    user = principal_user(request)
    study = Study.objects.filter(protocol_code=protocol_code).first()
    if study is None:
        raise PermissionDenied("Only the study's unblinded statisticians see the blinding summary.")
    summary = services.blinding_summary(user=user, study=study)
    return {
        kind: BlindingOut(
            bang=[BangOut(**_finite(row)) for row in part["bang"]],
            james=JamesOut(**_finite(part["james"])),
        )
        for kind, part in summary.items()
    }


class ArmIn(Schema):
    code: str
    label: str = ""
    ratio: int = 1
    control: bool = False


class StudyIn(Schema):
    protocol_code: str
    title: str
    arms: list[ArmIn]
    factors: list[str] = ["site"]
    block_multiples: list[int] = [1, 2]
    unblinded_roles: list[str] = []
    statistician_ids: list[uuid.UUID] = []


class StudyOut(Schema):
    protocol_code: str
    title: str
    arms: list[dict[str, object]]
    factors: list[str]
    block_multiples: list[int]
    unblinded_roles: list[str]
    statisticians: list[str]


class KitIn(Schema):
    number: str
    arm: str
    site_id: uuid.UUID


@router.post(
    "/studies",
    auth=user_auth,
    response={201: StudyOut, **ERRORS},
    summary="Set up a randomized study (a data manager)",
)
def study_create(request: HttpRequest, payload: StudyIn) -> Status[StudyOut]:
    from haven.accounts.models import Role, SiteMembership

    user = principal_user(request)
    if not SiteMembership.objects.filter(user=user, role=Role.DATA_MANAGER).exists():
        raise PermissionDenied("Setting up a study needs the data manager / statistician role.")
    statisticians = list(
        User.objects.filter(
            public_id__in=payload.statistician_ids, memberships__role=Role.DATA_MANAGER
        ).distinct()
    )
    if len(statisticians) != len(set(payload.statistician_ids)):
        from haven.core.errors import ValidationFailed

        raise ValidationFailed(
            "statistician_ids: each must be a data manager / statistician",
            fields={"statistician_ids": ["each must be a data manager / statistician"]},
        )
    study = services.study_create(
        actor=principal_actor(request),
        protocol_code=payload.protocol_code,
        title=payload.title,
        arms=[a.model_dump() for a in payload.arms],
        factors=payload.factors,
        block_multiples=payload.block_multiples,
        unblinded_roles=payload.unblinded_roles,
        statisticians=statisticians,
    )
    return Status(
        201,
        StudyOut(
            protocol_code=study.protocol_code,
            title=study.title,
            arms=study.arms,
            factors=study.factors,
            block_multiples=study.block_multiples,
            unblinded_roles=study.unblinded_roles,
            statisticians=[u.printed_name for u in study.unblinded_statisticians.all()],
        ),
    )


@router.post(
    "/studies/{protocol_code}/kits",
    auth=user_auth,
    response={201: dict[str, int], **ERRORS},
    summary="Load the sponsor's kit list (statisticians only)",
)
def kits_load(request: HttpRequest, protocol_code: str, payload: list[KitIn]) -> Status[dict[str, int]]:
    from haven.accounts.models import Site

    user = principal_user(request)
    study = Study.objects.filter(protocol_code=protocol_code).first()
    if study is None or not study.unblinded_statisticians.filter(pk=user.pk).exists():
        raise PermissionDenied("Only the study's unblinded statisticians load the kit list.")
    sites = {s.public_id: s for s in Site.objects.filter(public_id__in={k.site_id for k in payload})}
    rows = []
    for i, kit in enumerate(payload):
        site = sites.get(kit.site_id)
        if site is None:
            from haven.core.errors import ValidationFailed

            raise ValidationFailed(f"{i}.site_id: no such site", fields={f"{i}.site_id": ["no such site"]})
        rows.append((kit.number, kit.arm, site))
    return Status(201, {"loaded": services.kits_load(actor=principal_actor(request), study=study, rows=rows)})
