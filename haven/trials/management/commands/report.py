"""``haven report cdisc-pilot DIR``: the CDISC pilot study's report tables, reproduced by Haven's engine.

DIR is the pilot's ADaM folder (adsl.csv, adae.csv, adtte.csv, adqsadas.csv.gz, advs.csv.gz). Prints,
as JSON:

- ``table1``: Table 1 (intent-to-treat population);
- ``primary_ancova``: the primary efficacy ANCOVA of the ADAS-Cog (11) change to week 24 (LOCF,
  efficacy population, adjusted for site group and baseline) with LS means, pairwise contrasts and the
  dose-response test;
- ``primary_mmrm``: its MMRM version, observed cases at weeks 8, 16 and 24
  (``CHG ~ TRTP * AVISIT + SITEGR1 + BASE``, unstructured covariance, REML, Satterthwaite df): LS
  means per arm and visit, each dose minus placebo per visit, and Type 3 tests;
- ``ae_incidence``: treatment-emergent adverse-event incidence in the safety population with Fisher
  tests against placebo;
- ``time_to_dermatologic_event``: Kaplan-Meier time to the first dermatologic event with the log-rank
  test;
- ``vital_signs``: systolic and diastolic blood pressure and pulse in the safety population, per
  position, at baseline, week 24 and end of treatment, per actual arm: n, mean, SD, median, minimum and
  maximum of the value and, after baseline, of the change from baseline.

Each number is checked against R in the engine's tests (``haven/trials/tests/reference``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.trials.stats.ancova import ancova_fit, dose_response
from haven.trials.stats.incidence import ae_incidence
from haven.trials.stats.jsonable import plain
from haven.trials.stats.mmrm import MmrmFit, mmrm_fit
from haven.trials.stats.summary import describe_by
from haven.trials.stats.survival import kaplan_meier, logrank
from haven.trials.stats.table1 import table1

ARMS = ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
DOSES = {"Placebo": 0, "Xanomeline Low Dose": 54, "Xanomeline High Dose": 81}
ADAS_VISITS = ("Week 8", "Week 16", "Week 24")
VITAL_SIGNS = ("SYSBP", "DIABP", "PULSE")
VITAL_VISITS = ("Baseline", "Week 24", "End of Treatment")
FILES = ("adsl.csv", "adae.csv", "adtte.csv", "adqsadas.csv.gz", "advs.csv.gz")


def adas_observed_cases(adqs: pd.DataFrame) -> pd.DataFrame:
    """The rows of the MMRM version of the primary analysis, from the pilot's adqsadas.

    ADAS-Cog (11) total (PARAMCD ACTOT), efficacy population, analysis records (ANL01FL) at weeks 8,
    16 and 24 that were observed (DTYPE empty: no LOCF rows); site group as a category.
    """
    rows = adqs[
        (adqs.PARAMCD == "ACTOT")
        & (adqs.EFFFL == "Y")
        & (adqs.ANL01FL == "Y")
        & adqs.AVISIT.isin(ADAS_VISITS)
        & adqs.DTYPE.isna()
    ].copy()
    rows["SITEGR1"] = rows["SITEGR1"].astype(str)
    return rows


def adas_mmrm(rows: pd.DataFrame, *, by_visit: Sequence[str] = ()) -> MmrmFit:
    """``CHG ~ TRTP * AVISIT + SITEGR1 + BASE`` (plus a slope per visit for ``by_visit``), unstructured."""
    return mmrm_fit(
        rows,
        outcome="CHG",
        subject="USUBJID",
        visit="AVISIT",
        arm="TRTP",
        covariates=["SITEGR1", "BASE"],
        reference="Placebo",
        arm_order=ARMS,
        visit_order=ADAS_VISITS,
        by_visit=by_visit,
    )


def vital_signs(advs: pd.DataFrame) -> list[dict[str, Any]]:
    """The pilot's summary of vital signs at baseline and end of treatment, one row per parameter,
    position, visit and actual arm (safety population, analysis records); the change from baseline
    only after baseline."""
    rows = advs[(advs["SAFFL"] == "Y") & (advs["ANL01FL"] == "Y")]
    positions = rows[["ATPTN", "ATPT"]].dropna().drop_duplicates().sort_values("ATPTN")["ATPT"].tolist()
    groups = describe_by(
        rows,
        variables=["AVAL", "CHG"],
        by=["PARAMCD", "ATPT", "AVISIT", "TRTA"],
        levels={"PARAMCD": VITAL_SIGNS, "ATPT": positions, "AVISIT": VITAL_VISITS, "TRTA": ARMS},
    )
    return [
        {
            "param": g.group["PARAMCD"],
            "position": g.group["ATPT"],
            "visit": g.group["AVISIT"],
            "arm": g.group["TRTA"],
            "value": g.variables["AVAL"],
            "change": g.variables["CHG"] if g.group["AVISIT"] != "Baseline" else None,
        }
        for g in groups
    ]


def cdisc_pilot(folder: Path) -> dict[str, Any]:
    missing = [name for name in FILES if not (folder / name).exists()]
    if missing:
        raise CommandError(f"{folder}: missing {', '.join(missing)}")
    adsl = pd.read_csv(folder / "adsl.csv")
    adae = pd.read_csv(folder / "adae.csv")
    adtte = pd.read_csv(folder / "adtte.csv")
    adqs = pd.read_csv(folder / "adqsadas.csv.gz")
    advs = pd.read_csv(folder / "advs.csv.gz")
    itt = adsl[adsl["ITTFL"] == "Y"]
    demographics = table1(
        itt,
        arm="TRT01P",
        numeric=["AGE", "BMIBL", "WEIGHTBL", "HEIGHTBL", "EDUCLVL", "MMSETOT"],
        categorical=["AGEGR1", "SEX", "RACE", "ETHNIC"],
        arm_order=ARMS,
    )
    week24 = adqs[
        (adqs.PARAMCD == "ACTOT") & (adqs.AVISIT == "Week 24") & (adqs.EFFFL == "Y") & (adqs.ANL01FL == "Y")
    ].copy()
    week24["SITEGR1"] = week24["SITEGR1"].astype(str)
    week24["DOSE"] = week24["TRTP"].map(DOSES)
    fit = ancova_fit(
        week24, outcome="CHG", arm="TRTP", covariates=["SITEGR1", "BASE"], reference="Placebo", arm_order=ARMS
    )
    trend = dose_response(week24, outcome="CHG", dose="DOSE", covariates=["SITEGR1", "BASE"])
    observed = adas_observed_cases(adqs)
    mmrm = adas_mmrm(observed).summary()
    safety = adsl[adsl["SAFFL"] == "Y"]
    incidence = ae_incidence(
        adae[adae["TRTEMFL"] == "Y"],
        safety,
        arm="TRTA",
        adsl_arm="TRT01A",
        control="Placebo",
        arm_order=ARMS,
    )
    ttde = adtte[adtte.PARAMCD == "TTDE"].copy()
    ttde["EVENT"] = 1 - ttde["CNSR"]
    curves = {}
    for arm in ARMS:
        rows = ttde[ttde["TRTA"] == arm]
        km = kaplan_meier(rows.AVAL, rows.EVENT)
        median, lower, upper = km.median()
        curves[arm] = {"n": km.n, "events": km.events, "median": median, "median_ci": [lower, upper]}
    result: dict[str, Any] = plain(
        {
            "table1": demographics,
            "primary_ancova": {
                "population": {arm: int((week24["TRTP"] == arm).sum()) for arm in ARMS},
                "lsmeans": fit.lsmeans(),
                "contrasts": fit.pairwise(),
                "dose_response": trend,
            },
            "primary_mmrm": {
                "population": {
                    arm: int(observed.loc[observed["TRTP"] == arm, "USUBJID"].nunique()) for arm in ARMS
                },
                "model": mmrm["model"],
                "lsmeans": mmrm["lsmeans"],
                "contrasts": mmrm["contrasts"],
                "type3": mmrm["type3"],
            },
            "ae_incidence": [
                {
                    "level": r.level,
                    "soc": r.soc,
                    "term": r.term,
                    "cells": {a: r.cells[a].text() for a in ARMS},
                    "p_vs_placebo": r.p_vs_control,
                }
                for r in incidence
            ],
            "time_to_dermatologic_event": {
                "curves": curves,
                "logrank": logrank(ttde.AVAL, ttde.EVENT, ttde["TRTA"].tolist()),
            },
            "vital_signs": {
                "population": {arm: int((safety["TRT01A"] == arm).sum()) for arm in ARMS},
                "rows": vital_signs(advs),
            },
        }
    )
    return result


class Command(BaseCommand):
    help = "Reproduce a study's report tables with Haven's engine (today: the CDISC pilot study)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study", choices=["cdisc-pilot"])
        parser.add_argument("folder", help=f"the pilot's ADaM folder ({', '.join(FILES)})")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(cdisc_pilot(Path(options["folder"])), indent=2, default=str))
