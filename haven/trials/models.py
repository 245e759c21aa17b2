"""Randomization and blinding.

A study (one per protocol code) has arms with an allocation ratio, stratification factors and the
block sizes its permuted blocks may take. Its allocation list is generated from a secret seed,
stratum by stratum, the first time a stratum is used: stratified permuted blocks of varying size
(each block holds every arm in the ratio, in random order). The list is concealed: only the
study's unblinded statisticians see it; anyone else sees a patient's arm only if the study names
their role as unblinded, or after an emergency unblinding they performed.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from haven.core.models import BaseModel
from haven.patients.models import EnrollmentCourse


class Study(BaseModel):
    protocol_code = models.CharField(max_length=40, unique=True)
    title = models.CharField(max_length=200)
    arms = models.JSONField(help_text='[{"code": "MDMA", "label": "MDMA-assisted therapy", "ratio": 1}, …]')
    factors = models.JSONField(
        default=list, help_text='Stratification factors, e.g. ["site", "dissociative"].'
    )
    block_multiples = models.JSONField(
        default=list,
        help_text="Block sizes as multiples of the ratio's sum, e.g. [1, 2] for blocks of 2 and 4.",
    )
    seed = models.CharField(max_length=64, help_text="Secret; never shown, never exported.")
    unblinded_roles = models.JSONField(
        default=list, blank=True, help_text="Roles that may see arms (usually none)."
    )
    unblinded_statisticians = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return self.title


class AllocationSlot(models.Model):
    """One line of the concealed list: the n-th allocation of a stratum."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="slots")
    stratum = models.CharField(max_length=200)
    sequence = models.PositiveIntegerField()
    block = models.PositiveIntegerField()
    arm = models.CharField(max_length=40)

    class Meta:
        ordering = ["stratum", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "stratum", "sequence"], name="slot_once_per_stratum_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stratum} #{self.sequence}"


class Kit(BaseModel):
    """Blinded supply: a kit number and, concealed, the arm it holds. Blinded staff dispense a kit,
    never an arm: randomizing assigns the patient the next free kit of their arm at their site."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="kits")
    number = models.CharField(max_length=40)
    arm = models.CharField(max_length=40)
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "number"], name="kit_number_unique_in_study")]

    def __str__(self) -> str:
        return f"kit {self.number}"


class Randomization(BaseModel):
    course = models.OneToOneField(EnrollmentCourse, on_delete=models.PROTECT, related_name="randomization")
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="randomizations")
    slot = models.OneToOneField(AllocationSlot, on_delete=models.PROTECT, related_name="randomization")
    kit = models.OneToOneField(
        Kit, null=True, blank=True, on_delete=models.PROTECT, related_name="randomization"
    )
    factors = models.JSONField()
    randomized_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"randomization of {self.course}"


class Unblinding(BaseModel):
    """An emergency unblinding of one patient: a physician, a reason, an e-signature."""

    randomization = models.ForeignKey(Randomization, on_delete=models.PROTECT, related_name="unblindings")
    physician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()

    def __str__(self) -> str:
        return f"unblinding of {self.randomization.course}"

    def signed_content(self) -> dict[str, Any]:
        return {"course": str(self.randomization.course.public_id), "reason": self.reason}

    def signing_site_id(self) -> uuid.UUID:
        return self.randomization.course.site.public_id
