"""The solicited-effects checklist: its time points and effects. Pure, no Django.

Positive-valence effects are asked about like any other, so their absence is recorded rather than
assumed. Time points follow the FDA's concern list (during the session, day 1, day 2, day 7 [U]); a
protocol that names its own should replace them.
"""

from __future__ import annotations

TIME_POINTS: tuple[tuple[str, str], ...] = (
    ("session_end", "End of the dosing session"),
    ("day1", "Day 1 after the session"),
    ("day2", "Day 2 after the session"),
    ("day7", "Day 7 after the session"),
)

EFFECTS: tuple[tuple[str, str], ...] = (
    ("muscle_tightness", "Muscle tightness"),
    ("jaw_clenching", "Jaw clenching / bruxism"),
    ("decreased_appetite", "Decreased appetite"),
    ("nausea", "Nausea"),
    ("hyperhidrosis", "Excessive sweating"),
    ("feeling_cold", "Feeling cold / chills"),
    ("restlessness", "Restlessness / feeling jittery"),
    ("headache", "Headache"),
    ("dizziness", "Dizziness"),
    ("palpitations", "Palpitations"),
    ("chest_discomfort", "Chest pain or discomfort"),
    ("blurred_vision", "Blurred vision"),
    ("insomnia", "Insomnia"),
    ("fatigue", "Fatigue"),
    ("anxiety", "Anxiety"),
    ("low_mood", "Low mood"),
    ("suicidal_thoughts", "Thoughts of suicide or self-harm"),
    ("dissociation", "Dissociation / feeling unreal"),
    ("euphoria", "Euphoria / elated mood"),
    ("feeling_high", "Feeling 'high'"),
    ("drug_liking", "Liking the drug's effect / wanting more"),
    ("increased_energy", "Increased energy"),
)

TIME_POINT_CODES = frozenset(code for code, _ in TIME_POINTS)
EFFECT_CODES = tuple(code for code, _ in EFFECTS)
EFFECT_LABELS = dict(EFFECTS)


def day_offset(time_point: str) -> int | None:
    """Days after the session for a "dayN" time point (asked of the patient through the portal);
    None for the others (asked by staff in the room, e.g. at the end of the session)."""
    if time_point.startswith("day") and time_point[3:].isdigit():
        return int(time_point[3:])
    return None
