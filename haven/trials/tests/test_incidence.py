"""Adverse-event incidence on the CDISC pilot against base R (``reference/ae_incidence.R``).

Treatment-emergent events (adae ``TRTEMFL == "Y"``) in the safety population (adsl ``SAFFL == "Y"``,
86 placebo, 84 low dose, 84 high dose); every row of ``reference/ae_incidence.csv`` (any event, 23
body systems, their preferred terms): subjects and events exact, Fisher p within 1e-9 relative.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from haven.trials.stats.incidence import IncidenceRow, ae_incidence

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
REFERENCE = Path(__file__).resolve().parent / "reference" / "ae_incidence.csv"
ARMS = ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")


@pytest.fixture(scope="module")
def table() -> list[IncidenceRow]:
    adam = DATA / "cdiscpilot01" / "adam"
    if not adam.exists():
        pytest.skip("shared/data/cdiscpilot01 is not beside the repository")
    adsl = pd.read_csv(adam / "adsl.csv")
    adae = pd.read_csv(adam / "adae.csv")
    return ae_incidence(
        adae[adae["TRTEMFL"] == "Y"],
        adsl[adsl["SAFFL"] == "Y"],
        arm="TRTA",
        adsl_arm="TRT01A",
        control="Placebo",
        arm_order=ARMS,
    )


def _reference() -> list[dict[str, str]]:
    lines = [line for line in REFERENCE.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def test_rows_match_r_in_order(table: list[IncidenceRow]) -> None:
    ref = _reference()
    assert [(r.level, r.soc, r.term) for r in table] == [(w["level"], w["soc"], w["term"]) for w in ref]


def test_counts_and_fisher_p_match_r(table: list[IncidenceRow]) -> None:
    for got, want in zip(table, _reference(), strict=True):
        for arm, key in zip(ARMS, ("placebo", "low", "high"), strict=True):
            assert got.cells[arm].subjects == int(want[f"n_{key}"]), (got.term, arm)
            assert got.cells[arm].events == int(want[f"events_{key}"]), (got.term, arm)
        assert got.p_vs_control[ARMS[1]] == pytest.approx(float(want["p_low"]), rel=1e-9)
        assert got.p_vs_control[ARMS[2]] == pytest.approx(float(want["p_high"]), rel=1e-9)


def test_any_event_row_reads_n_percent_events(table: list[IncidenceRow]) -> None:
    cells = table[0].cells
    assert [cells[a].text() for a in ARMS] == ["65 (75.6) [281]", "77 (91.7) [412]", "76 (90.5) [433]"]


def test_unknown_control_arm_is_rejected() -> None:
    adsl = pd.DataFrame({"USUBJID": ["a"], "ARM": ["X"]})
    with pytest.raises(ValueError, match="control arm"):
        ae_incidence(adsl.iloc[:0], adsl, arm="ARM", control="Placebo")
