"""``haven report cdisc-pilot DIR``: the CDISC pilot study's report tables, reproduced by Haven's engine.

DIR is the pilot's ADaM folder (adsl.csv, adae.csv, adtte.csv, adqsadas.csv.gz). Prints, as JSON:
Table 1 (intent-to-treat population), the primary efficacy ANCOVA of the ADAS-Cog (11) change to
week 24 (LOCF, efficacy population, adjusted for site group and baseline) with LS means, pairwise
contrasts and the dose-response test, treatment-emergent adverse-event incidence in the safety
population with Fisher tests against placebo, and Kaplan-Meier time to the first dermatologic event
with the log-rank test. Each number is checked against R in the engine's tests
(``haven/trials/tests/reference``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.trials.stats.ancova import ancova_fit, dose_response
from haven.trials.stats.incidence import ae_incidence
from haven.trials.stats.jsonable import plain
from haven.trials.stats.survival import kaplan_meier, logrank
from haven.trials.stats.table1 import table1

ARMS = ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
DOSES = {"Placebo": 0, "Xanomeline Low Dose": 54, "Xanomeline High Dose": 81}


def cdisc_pilot(folder: Path) -> dict[str, Any]:
    needed = ["adsl.csv", "adae.csv", "adtte.csv", "adqsadas.csv.gz"]
    missing = [name for name in needed if not (folder / name).exists()]
    if missing:
        raise CommandError(f"{folder}: missing {', '.join(missing)}")
    adsl = pd.read_csv(folder / "adsl.csv")
    adae = pd.read_csv(folder / "adae.csv")
    adtte = pd.read_csv(folder / "adtte.csv")
    adqs = pd.read_csv(folder / "adqsadas.csv.gz")
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
    incidence = ae_incidence(
        adae[adae["TRTEMFL"] == "Y"],
        adsl[adsl["SAFFL"] == "Y"],
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
        }
    )
    return result


class Command(BaseCommand):
    help = "Reproduce a study's report tables with Haven's engine (today: the CDISC pilot study)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study", choices=["cdisc-pilot"])
        parser.add_argument(
            "folder", help="the pilot's ADaM folder (adsl.csv, adae.csv, adtte.csv, adqsadas.csv.gz)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(cdisc_pilot(Path(options["folder"])), indent=2, default=str))
