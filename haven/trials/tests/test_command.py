"""``haven stats`` on the public reference data: the numbers the engine's own tests validate, through
the command line, and errors that name the file and the column."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
FEV = DATA / "mmrm" / "fev_data.csv"


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("stats", *args, stdout=out)
    return out.getvalue()


@pytest.mark.skipif(not FEV.exists(), reason="the shared reference data is not beside the repository")
def test_mmrm_through_the_command_line_matches_the_reference_fit() -> None:
    result = json.loads(
        _run(
            "mmrm",
            str(FEV),
            "--outcome",
            "FEV1",
            "--subject",
            "USUBJID",
            "--visit",
            "AVISIT",
            "--arm",
            "ARMCD",
            "--reference",
            "PBO",
            "--covariate",
            "RACE",
            "--covariate",
            "SEX",
            "--json",
        )
    )
    first = result["contrasts"][0]
    assert first["label"] == "TRT - PBO VIS1"
    # nlme::gls + corSymm/varIdent by REML (haven/trials/tests/reference): 3.774, SE 1.074, df 145.5.
    assert first["estimate"] == pytest.approx(3.7744, abs=1e-3)
    assert first["se"] == pytest.approx(1.0742, abs=1e-3)
    assert first["df"] == pytest.approx(145.5, abs=0.2)
    assert result["model"]["n_subjects"] == 197


@pytest.mark.skipif(not FEV.exists(), reason="the shared reference data is not beside the repository")
def test_a_csv_table_and_clear_errors() -> None:
    table = _run(
        "mmrm",
        str(FEV),
        "--outcome",
        "FEV1",
        "--subject",
        "USUBJID",
        "--visit",
        "AVISIT",
        "--arm",
        "ARMCD",
        "--csv",
    )
    assert table.splitlines()[0].startswith("label,arm,visit,estimate,se,df,lower,upper,t,p")
    assert len(table.splitlines()) == 1 + 8 + 4  # LS means of 2 arms × 4 visits, 4 contrasts
    with pytest.raises(CommandError, match="no column FEV2"):
        _run("ancova", str(FEV), "--outcome", "FEV2", "--arm", "ARMCD")
    with pytest.raises(CommandError, match="no rows to analyse"):
        _run("ancova", str(FEV), "--outcome", "FEV1", "--arm", "ARMCD", "--where", "ARMCD=NONE")
    with pytest.raises(CommandError, match="no such file"):
        _run("table1", "missing.csv", "--arm", "ARM")


PILOT = DATA / "cdiscpilot01" / "adam"
REFERENCE = Path(__file__).resolve().parent / "reference"
MMRM_REF: dict[str, Any] = json.loads((REFERENCE / "mmrm_adas.json").read_text())["main"]
VITALS_REF = list(
    csv.DictReader(
        line for line in (REFERENCE / "vitals_advs.csv").read_text().splitlines() if not line.startswith("#")
    )
)


@pytest.mark.skipif(not PILOT.exists(), reason="the shared reference data is not beside the repository")
def test_the_cdisc_pilot_report_reproduces_its_published_tables() -> None:
    out = io.StringIO()
    call_command("report", "cdisc-pilot", str(PILOT), stdout=out)
    report = json.loads(out.getvalue())
    primary = report["primary_ancova"]
    # The pilot's efficacy population at week 24 (LOCF): 79 placebo, 81 low dose, 74 high dose.
    assert list(primary["population"].values()) == [79, 81, 74]
    # The CSR's dose-response test of the ADAS-Cog change at week 24: p = 0.245.
    assert primary["dose_response"]["p"] == pytest.approx(0.245, abs=5e-4)
    assert report["ae_incidence"][0]["cells"]["Placebo"] == "65 (75.6) [281]"
    assert report["time_to_dermatologic_event"]["curves"]["Xanomeline High Dose"]["median"] == 36.0
    # The MMRM version (observed cases): week-24 high dose minus placebo as nlme::gls in R
    # (reference/mmrm_adas.json, "main"), to the tolerances of test_mmrm_adas.py.
    mmrm = report["primary_mmrm"]
    assert list(mmrm["population"].values()) == [79, 81, 74]
    assert mmrm["model"]["n_obs"] == MMRM_REF["n_obs"]
    week24 = mmrm["contrasts"][-1]
    assert (week24["arm"], week24["visit"]) == ("Xanomeline High Dose", "Week 24")
    assert week24["estimate"] == pytest.approx(MMRM_REF["contrast"][-1], abs=1e-4)
    assert week24["se"] == pytest.approx(MMRM_REF["contrast_se"][-1], rel=1e-4)
    assert week24["df"] == pytest.approx(MMRM_REF["contrast_df"][-1], rel=1e-3)
    assert week24["lower"] < week24["estimate"] < week24["upper"]
    assert len(mmrm["lsmeans"]) == 9
    # Vital signs: systolic pressure lying down at baseline, placebo, as base R (reference/vitals_advs.csv).
    vitals = report["vital_signs"]
    assert list(vitals["population"].values()) == [86, 84, 84]
    first = vitals["rows"][0]
    assert (first["param"], first["position"], first["visit"], first["arm"]) == (
        "SYSBP",
        "AFTER LYING DOWN FOR 5 MINUTES",
        "Baseline",
        "Placebo",
    )
    assert first["change"] is None
    want = VITALS_REF[0]
    assert first["value"]["n"] == int(want["n"]) == 85
    for figure in ("mean", "sd", "median", "minimum", "maximum"):
        assert first["value"][figure] == pytest.approx(float(want[figure]), rel=1e-9)
    with pytest.raises(CommandError, match="missing"):
        call_command("report", "cdisc-pilot", str(DATA / "mmrm"))
