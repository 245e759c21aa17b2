"""Reads of trials for other apps' pages."""

from __future__ import annotations

from haven.patients.models import EnrollmentCourse
from haven.patients.selectors import TimelineEvent
from haven.trials.models import Randomization, Unblinding


def trial_events(course: EnrollmentCourse) -> list[TimelineEvent]:
    """Randomization and emergency unblindings for the patient's timeline — never the arm."""
    randomization = Randomization.objects.filter(course=course).select_related("study", "kit").first()
    if randomization is None:
        return []
    kit = f", kit {randomization.kit.number}" if randomization.kit else ""
    events = [
        TimelineEvent(randomization.created_at, "trial", f"Randomized in {randomization.study.title}{kit}")
    ]
    for unblinding in Unblinding.objects.filter(randomization=randomization).select_related("physician"):
        events.append(
            TimelineEvent(
                unblinding.created_at,
                "trial",
                f"Emergency unblinding by {unblinding.physician.printed_name} (signed): {unblinding.reason}",
            )
        )
    return events
