"""Adverse-event incidence: subjects with at least one event, n (%) [events], by SOC, term and arm.

Inputs are ADaM-shaped: ADSL (one row per subject, for the denominators) and ADAE (one row per event;
filter it first, e.g. to treatment-emergent events, ``TRTEMFL == "Y"``). Each row of the table counts,
per arm, the subjects with at least one such event (``n``), ``100 n / N`` with ``N`` the arm's
subjects in ADSL, and the events (``[events]``); and for every arm but the control, Fisher's exact
two-sided p value of the 2 x 2 table (subjects with / without the event) against the control arm.

Rows: "any event", then each system organ class (sorted), each followed by its terms (sorted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from haven.trials.stats.proportions import fisher_exact


@dataclass(frozen=True)
class Cell:
    """One arm's count: ``subjects`` with the event out of ``total``, and the ``events`` themselves."""

    subjects: int
    total: int
    events: int

    @property
    def percent(self) -> float:
        return 100.0 * self.subjects / self.total if self.total else float("nan")

    def text(self) -> str:
        """``n (%) [events]``, the percentage to one decimal (a dash for an arm with no subjects)."""
        if not self.total:
            return f"{self.subjects} (–) [{self.events}]"
        return f"{self.subjects} ({self.percent:.1f}) [{self.events}]"


@dataclass(frozen=True)
class IncidenceRow:
    level: str  # "any", "soc" or "term"
    soc: str
    term: str
    cells: dict[str, Cell]
    p_vs_control: dict[str, float]


def ae_incidence(
    adae: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    arm: str,
    control: str,
    subject: str = "USUBJID",
    soc: str = "AEBODSYS",
    term: str = "AEDECOD",
    adsl_arm: str | None = None,
    arm_order: Sequence[str] | None = None,
) -> list[IncidenceRow]:
    """The incidence table (see the module docstring).

    Parameters
    ----------
    adae, adsl
        Events (already filtered to those to count) and the population (already filtered, e.g.
        ``SAFFL == "Y"``). Events of subjects missing from ADSL are ignored.
    arm
        The arm column in ADAE; ``adsl_arm`` the one in ADSL (default: the same name).
    control
        The arm every other arm is compared with.
    arm_order
        The arms in output order; by default sorted.
    """
    adsl_arm = adsl_arm or arm
    population = adsl[[subject, adsl_arm]].drop_duplicates(subject).set_index(subject)[adsl_arm].astype(str)
    arms = list(arm_order) if arm_order is not None else sorted(population.unique())
    if control not in arms:
        raise ValueError(f"control arm {control!r} is not among {arms}")
    totals = {a: int((population == a).sum()) for a in arms}
    events = adae[adae[subject].isin(population.index)].copy()
    # The arm of each event is the subject's arm in ADSL, so the numerators match the denominators.
    events["_arm"] = events[subject].map(population)

    def row(level: str, soc_name: str, term_name: str, subset: pd.DataFrame) -> IncidenceRow:
        cells = {}
        for a in arms:
            in_arm = subset[subset["_arm"] == a]
            cells[a] = Cell(subjects=int(in_arm[subject].nunique()), total=totals[a], events=len(in_arm))
        ref = cells[control]
        p = {
            a: fisher_exact([[c.subjects, c.total - c.subjects], [ref.subjects, ref.total - ref.subjects]]).p
            for a, c in cells.items()
            if a != control
        }
        return IncidenceRow(level=level, soc=soc_name, term=term_name, cells=cells, p_vs_control=p)

    rows = [row("any", "", "", events)]
    for soc_name in sorted(events[soc].astype(str).unique()):
        in_soc = events[events[soc].astype(str) == soc_name]
        rows.append(row("soc", soc_name, "", in_soc))
        for term_name in sorted(in_soc[term].astype(str).unique()):
            rows.append(row("term", soc_name, term_name, in_soc[in_soc[term].astype(str) == term_name]))
    return rows
