"""``haven stats``: Haven's analysis engine for statisticians, on any CSV shaped like ADaM.

    haven stats mmrm data.csv --outcome CHG --subject USUBJID --visit AVISIT --arm ARMCD \\
        --reference PBO --covariate BASE --covariance us --df satterthwaite --json
    haven stats ancova adqsadas.csv.gz --where PARAMCD=ACTOT --where "AVISIT=Week 24" --where EFFFL=Y \\
        --outcome CHG --arm TRTP --reference Placebo --covariate BASE --covariate SITEGR1
    haven stats km adtte.csv --time AVAL --censor CNSR --arm TRTP
    haven stats incidence adae.csv --adsl adsl.csv --arm TRTA --adsl-arm TRT01A --control Placebo
    haven stats table1 adsl.csv --arm TRT01P --numeric AGE --categorical SEX --categorical RACE

Input: CSV (``.csv`` or ``.csv.gz``) or Parquet (``.parquet``). Output: JSON (default, ``--json``) or CSV of the main table
(``--csv``). The formulas and their references are in ``haven/trials/stats``.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.trials.stats.ancova import ancova_fit
from haven.trials.stats.incidence import ae_incidence
from haven.trials.stats.jsonable import plain
from haven.trials.stats.mmrm import mmrm_fit
from haven.trials.stats.survival import kaplan_meier, logrank
from haven.trials.stats.table1 import table1


def _read(path: str) -> pd.DataFrame:
    if not Path(path).is_file():
        raise CommandError(f"{path}: no such file")
    if path.lower().endswith(".parquet"):
        try:
            return pd.read_parquet(path)
        except (ValueError, OSError) as error:  # pyarrow's ArrowInvalid is a ValueError
            raise CommandError(f"{path}: not a readable Parquet file ({error})") from None
    try:
        return pd.read_csv(path, keep_default_na=True)
    except (ValueError, UnicodeDecodeError) as error:
        raise CommandError(f"{path}: not a readable CSV ({error})") from None


def _columns(data: pd.DataFrame, path: str, *names: str | None) -> None:
    missing = [n for n in names if n and n not in data.columns]
    if missing:
        raise CommandError(
            f"{path}: no column {', '.join(missing)} (columns: {', '.join(map(str, data.columns))})"
        )


class Command(BaseCommand):
    help = "Run an analysis (mmrm, ancova, km, incidence, table1) on a CSV and print JSON or CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="analysis", required=True)
        for name in ("mmrm", "ancova", "km", "incidence", "table1"):
            p = sub.add_parser(name)
            p.add_argument("file")
            p.add_argument("--arm", required=True)
            out = p.add_mutually_exclusive_group()
            out.add_argument("--json", action="store_true", help="JSON (the default)")
            out.add_argument("--csv", action="store_true", help="CSV of the main table")
            p.add_argument("--level", type=float, default=0.95)
            p.add_argument(
                "--where",
                action="append",
                default=[],
                metavar="COLUMN=VALUE",
                help="keep only rows where COLUMN equals VALUE (repeatable), e.g. PARAMCD=ACTOT",
            )
            if name in ("mmrm", "ancova"):
                p.add_argument("--outcome", required=True)
                p.add_argument("--reference")
                p.add_argument("--covariate", action="append", default=[])
            if name == "mmrm":
                p.add_argument("--subject", required=True)
                p.add_argument("--visit", required=True)
                p.add_argument("--covariance", default="us", choices=["us", "cs", "csh", "ar1", "arh1"])
                p.add_argument("--df", default="satterthwaite", choices=["satterthwaite", "kenward-roger"])
            if name == "km":
                p.add_argument("--time", required=True)
                p.add_argument("--censor", required=True, help="1 = censored, 0 = event (ADaM CNSR)")
            if name == "incidence":
                p.add_argument("--adsl", required=True)
                p.add_argument("--adsl-arm")
                p.add_argument("--control", required=True)
                p.add_argument("--subject", default="USUBJID")
            if name == "table1":
                p.add_argument("--numeric", action="append", default=[])
                p.add_argument("--categorical", action="append", default=[])

    def handle(self, *args: Any, **options: Any) -> None:
        path, analysis = options["file"], options["analysis"]
        data = _read(path)
        for condition in options["where"]:
            column, sep, value = condition.partition("=")
            if not sep:
                raise CommandError(f"--where {condition}: write COLUMN=VALUE")
            _columns(data, path, column)
            data = data[data[column].astype(str) == value]
        if data.empty:
            raise CommandError(f"{path}: no rows to analyse")
        table: list[dict[str, Any]]
        if analysis == "mmrm":
            _columns(
                data,
                path,
                options["outcome"],
                options["subject"],
                options["visit"],
                options["arm"],
                *options["covariate"],
            )
            fit = mmrm_fit(
                data,
                outcome=options["outcome"],
                subject=options["subject"],
                visit=options["visit"],
                arm=options["arm"],
                covariates=options["covariate"],
                reference=options["reference"],
                covariance=options["covariance"],
                kenward_roger=options["df"] == "kenward-roger",
            )
            result = fit.summary(level=options["level"], df=options["df"])
            table = [*result["lsmeans"], *result["contrasts"]]
        elif analysis == "ancova":
            _columns(data, path, options["outcome"], options["arm"], *options["covariate"])
            fitted = ancova_fit(
                data,
                outcome=options["outcome"],
                arm=options["arm"],
                covariates=options["covariate"],
                reference=options["reference"],
            )
            result = fitted.summary(level=options["level"])
            table = [
                *(asdict(e) for e in fitted.lsmeans(level=options["level"])),
                *(asdict(e) for e in fitted.pairwise(level=options["level"])),
            ]
        elif analysis == "km":
            _columns(data, path, options["time"], options["censor"], options["arm"])
            arms = sorted(data[options["arm"]].astype(str).unique())
            curves = {}
            for arm in arms:
                rows = data[data[options["arm"]].astype(str) == arm]
                km = kaplan_meier(rows[options["time"]], 1 - rows[options["censor"]], level=options["level"])
                median, lower, upper = km.median()
                curves[arm] = {
                    "n": km.n,
                    "events": km.events,
                    "median": median,
                    "median_lower": lower,
                    "median_upper": upper,
                }
            test = logrank(
                data[options["time"]], 1 - data[options["censor"]], data[options["arm"]].astype(str).tolist()
            )
            result = {"curves": curves, "logrank": test}
            table = [{"arm": arm, **values} for arm, values in curves.items()]
        elif analysis == "incidence":
            adsl = _read(options["adsl"])
            _columns(data, path, options["arm"], options["subject"])
            rows = ae_incidence(
                data,
                adsl,
                arm=options["arm"],
                control=options["control"],
                subject=options["subject"],
                adsl_arm=options["adsl_arm"],
            )
            result = {"rows": rows}
            table = [plain(r) for r in rows]
        else:
            _columns(data, path, options["arm"], *options["numeric"], *options["categorical"])
            rows1 = table1(
                data, arm=options["arm"], numeric=options["numeric"], categorical=options["categorical"]
            )
            result = {"rows": rows1}
            table = [plain(r) for r in rows1]
        if options["csv"]:
            flat = [
                {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in plain(row).items()}
                for row in table
            ]
            buffer = io.StringIO()
            fields = list(dict.fromkeys(key for row in flat for key in row))
            writer = csv.DictWriter(buffer, fieldnames=fields)
            writer.writeheader()
            writer.writerows(flat)
            self.stdout.write(buffer.getvalue(), ending="")
            return
        self.stdout.write(json.dumps(plain(result), indent=2, default=str))
