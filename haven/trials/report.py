"""The study report: CONSORT flow, Table 1, response categories, the primary endpoint (MMRM), the
safety table and blinding integrity — computed by the validated engine from Haven's ADaM-shaped
data, with the data snapshot's hash and Haven's version so the report can be reproduced."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from haven import __version__
from haven.accounts.models import User
from haven.patients.models import CourseStatus, EnrollmentCourse
from haven.protocols.selectors import protocol_of
from haven.trials.adam import ADTTE_PARAMS, study_data
from haven.trials.models import Randomization, Study
from haven.trials.services import blinding_summary, control_arm
from haven.trials.stats.ancova import ancova_fit
from haven.trials.stats.effect_size import cohens_d, hedges_g
from haven.trials.stats.incidence import IncidenceRow, ae_incidence
from haven.trials.stats.mmrm import mmrm_fit
from haven.trials.stats.responses import classify_response, response_table
from haven.trials.stats.survival import kaplan_meier, logrank
from haven.trials.stats.table1 import table1

COVARIANCE_NAMES = {
    "us": "unstructured",
    "cs": "compound symmetry",
    "csh": "heterogeneous compound symmetry",
    "ar1": "AR(1)",
    "arh1": "heterogeneous AR(1)",
}
DF_NAMES = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger"}

FLOW = (
    "candidate",
    "screening",
    "eligible",
    "consented",
    "preparation",
    "treatment",
    "integration",
    "follow_up",
    "completed",
)


def study_report(*, user: User, study: Study) -> dict[str, Any]:
    data = study_data(user=user, study=study)
    adsl, adqs = data.adsl, data.adqs
    snapshot = hashlib.sha256(
        "".join(frame.to_csv(index=False) for frame in (adsl, adqs, data.adae, data.adtte)).encode()
    ).hexdigest()
    courses = EnrollmentCourse.objects.filter(protocol_code=study.protocol_code)
    statuses = Counter(courses.values_list("status", flat=True))
    randomized = Randomization.objects.filter(study=study).count()
    arms = [str(a["code"]) for a in study.arms]
    control = control_arm(study)
    report: dict[str, Any] = {
        "study": study,
        "control": control,
        "snapshot": snapshot,
        "version": __version__,
        "consort": {
            "registered": courses.count(),
            "by_status": [
                (CourseStatus(s).label, statuses.get(s, 0))
                for s in (*FLOW, "withdrawn", "lost_to_follow_up", "ineligible")
            ],
            "randomized": randomized,
            "by_arm": [(a, int((adsl["ARM"] == a).sum())) for a in arms],
        },
        "table1": [],
        "responses": [],
        "primary": None,
        "primary_note": "",
        "blinding": _without_nan(blinding_summary(user=user, study=study)),
        "peak_vitals": peak_vitals(
            study,
            {
                r.course_id: r.slot.arm
                for r in Randomization.objects.filter(study=study).select_related("slot")
            },
        ),
        "trajectory": {"lines": [], "visits": []},
        "durability": [],
        "effect_sizes": [],
        "safety": safety_tables(adsl, data.adae, arms=arms, control=control),
        "time_to_event": [time_to_event(data.adtte, code, arms=arms) for code in ADTTE_PARAMS],
    }
    outcomes = None
    first = courses.select_related("protocol_version").first()
    if first is not None:
        outcomes = protocol_of(first.protocol_version).outcomes
    report["table1"] = _table1(adsl, adqs, outcomes, arms)
    if outcomes is None or adqs.empty:
        report["primary_note"] = "No primary endpoint defined, or no scores yet."
        return report
    from haven.outcomes.scoring import resolve

    assert first is not None
    visit_names = {v.code: v.name for v in protocol_of(first.protocol_version).visits}
    primary = resolve(outcomes.primary_instrument) or outcomes.primary_instrument
    scores = adqs[adqs["PARAMCD"] == primary]
    categories: dict[str, list[Any]] = {a: [] for a in arms}
    for _, subject in adsl.iterrows():
        mine = scores[scores["USUBJID"] == subject["USUBJID"]]
        base = mine[mine["AVISIT"] == outcomes.baseline_visit]
        end = mine[mine["AVISIT"] == outcomes.endpoint_visit]
        withdrawn = subject["WITHDRAWN"] == "Y"
        if not withdrawn and (base.empty or end.empty):
            continue  # not yet at the endpoint
        diagnosis = None if end.empty else {"Y": True, "N": False}.get(str(end["DIAGFL"].iloc[-1]))
        if not withdrawn and diagnosis is None:
            continue
        categories[str(subject["ARM"])].append(
            classify_response(
                baseline=None if base.empty else float(base["AVAL"].iloc[0]),
                endpoint=None if end.empty else float(end["AVAL"].iloc[-1]),
                diagnosis_at_endpoint=diagnosis,
                withdrawn=withdrawn,
                responder_drop=float(outcomes.responder.decrease_at_least or 10),
                remission_max=float(outcomes.remission.total_at_most) if outcomes.remission else 11.0,
            )
        )
    if all(categories.values()):
        report["responses"] = [
            asdict(r) | {"label": str(r.category).replace("_", " ")}
            for r in response_table(categories, control=control)
        ]
    report["trajectory"] = _trajectory(scores, arms, visit_names)
    report["durability"] = [
        {
            "visit": visit_names.get(visit, visit),
            "rows": [
                {
                    "arm": arm,
                    "n": len(cell),
                    "mean_change": float(cell["CHG"].mean()) if len(cell) else None,
                }
                for arm in arms
                for cell in [
                    scores[(scores["AVISIT"] == visit) & (scores["ARM"] == arm) & scores["CHG"].notna()]
                ]
            ],
        }
        for visit in sorted(
            set(scores["AVISIT"]) - {outcomes.baseline_visit},
            key=lambda v: int(scores.loc[scores["AVISIT"] == v, "AVISITN"].iloc[0]),
        )
    ]
    post = scores[(scores["AVISIT"] != outcomes.baseline_visit) & scores["CHG"].notna()]
    try:
        if post["ARM"].nunique() < 2 or post["USUBJID"].nunique() < 4:
            raise ValueError("too few subjects with post-baseline scores in each arm")
        if post["AVISIT"].nunique() == 1:
            # One post-baseline visit: an ANCOVA of the change with the baseline as covariate.
            fitted = ancova_fit(post, outcome="CHG", arm="ARM", covariates=["BASE"], reference=control)
            report["primary"] = {
                "method": "ANCOVA of the change from baseline, adjusted for baseline",
                "n_subjects": int(post["USUBJID"].nunique()),
                "contrasts": [asdict(e) for e in fitted.pairwise() if e.label.endswith(f"- {control}")],
            }
        else:
            fit = mmrm_fit(
                post,
                outcome="CHG",
                subject="USUBJID",
                visit="AVISIT",
                arm="ARM",
                covariates=["BASE"],
                reference=control,
                visit_order=sorted(
                    post["AVISIT"].unique(),
                    key=lambda v: int(post.loc[post["AVISIT"] == v, "AVISITN"].iloc[0]),
                ),
            )
            summary = fit.summary()
            for contrast in summary["contrasts"]:
                contrast["label"] = (
                    f"{contrast['arm']} − {control} at {visit_names.get(contrast['visit'], contrast['visit'])}"
                )
            report["primary"] = {
                "method": "MMRM of the change from baseline ("
                f"{COVARIANCE_NAMES.get(summary['model']['covariance'], summary['model']['covariance'])} "
                f"covariance, REML, {DF_NAMES.get(summary['model']['df'], summary['model']['df'])} df), "
                "adjusted for baseline; visits without a score are missing at random",
                "n_subjects": summary["model"]["n_subjects"],
                "contrasts": summary["contrasts"],
            }
    except (ValueError, ArithmeticError, KeyError) as error:
        report["primary_note"] = f"The primary analysis is not estimable yet: {error}."
    report["effect_sizes"] = effect_sizes(
        scores, arms=arms, control=control, endpoint=outcomes.endpoint_visit
    )
    return report


def effect_sizes(
    scores: pd.DataFrame, *, arms: list[str], control: str, endpoint: str
) -> list[dict[str, Any]]:
    """Standardised effects at the primary endpoint, as the MAPP papers report them: for each arm,
    the within-group Cohen's d_z of the change (baseline minus endpoint, so improvement is
    positive), and for each active arm the between-group Cohen's d and Hedges' g of the change
    against the control arm (control change minus active change: positive favours the active arm),
    with noncentral-t 95% intervals (``stats.effect_size``). Observed cases; None where fewer than
    two participants in an arm have a change."""
    at_end = scores[(scores["AVISIT"] == endpoint) & scores["CHG"].notna()]
    change = {arm: at_end.loc[at_end["ARM"] == arm, "CHG"].astype(float).to_numpy() for arm in arms}
    rows = []
    for arm in arms:
        mine = change[arm]
        row: dict[str, Any] = {"arm": arm, "n": len(mine), "within": None, "between": None, "hedges": None}
        if len(mine) >= 2 and mine.std(ddof=1) > 0:
            row["within"] = asdict(cohens_d(-mine, np.zeros_like(mine), paired=True))
        other = change[control]
        if arm != control and len(mine) >= 2 and len(other) >= 2:
            spread = (len(mine) - 1) * mine.var(ddof=1) + (len(other) - 1) * other.var(ddof=1)
            if spread > 0:
                row["between"] = asdict(cohens_d(other, mine))
                row["hedges"] = asdict(hedges_g(other, mine))
        rows.append(row)
    return rows


UNCODED = "Not yet coded"
# The units the peak rises are in (the parameters' UCUM units as recorded, in words).
PEAK_UNITS = {"systolic_bp": "mmHg", "heart_rate": "/min", "temperature": "°C"}

#: The overview rows of the safety table: label and the ADAE rows it counts (treatment-emergent).
SAFETY_OVERVIEW: tuple[tuple[str, Callable[[pd.DataFrame], pd.Series]], ...] = (
    ("Any treatment-emergent adverse event", lambda e: e["TRTEMFL"] == "Y"),
    ("Serious", lambda e: e["AESER"] == "Y"),
    ("Severe (or CTCAE grade 3 or more)", lambda e: (e["AESEV"] == "SEVERE") | _grade(e).ge(3)),
    ("Related to the study drug (possible, probable, definite)", lambda e: e["AERELFL"] == "Y"),
    ("Of special interest (AESI)", lambda e: e["AESI"] != ""),
    ("Leading to withdrawal of the study drug", lambda e: e["AEACN"] == "withdrawn"),
    ("Fatal", lambda e: (e["AESDTH"] == "Y") | (e["AEOUT"] == "fatal")),
)


def _grade(events: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(events["AETOXGR"], errors="coerce")


def safety_tables(adsl: pd.DataFrame, adae: pd.DataFrame, *, arms: list[str], control: str) -> dict[str, Any]:
    """Treatment-emergent adverse events in the safety population (everyone dosed at least once):
    an overview (subjects with any event, serious, severe, related, AESI, leading to withdrawal,
    fatal) and the incidence by system organ class and preferred term, each n (%) [events] per arm
    with Fisher's exact p against the control arm. Events not yet coded to MedDRA are counted under
    "Not yet coded" by their verbatim term, so nothing is left out while coding is pending."""
    population = adsl[adsl["SAFFL"] == "Y"]
    if population.empty:
        return {"population": [], "overview": [], "rows": [], "uncoded": 0}
    events = adae[adae["TRTEMFL"] == "Y"].copy()
    uncoded = events["AEBODSYS"] == ""
    events.loc[uncoded, "AEBODSYS"] = UNCODED
    events.loc[events["AEDECOD"] == "", "AEDECOD"] = events.loc[events["AEDECOD"] == "", "AETERM"]

    def table(subset: pd.DataFrame) -> list[IncidenceRow]:
        return ae_incidence(subset, population, arm="ARM", control=control, arm_order=arms)

    def cells(row: IncidenceRow) -> dict[str, Any]:
        return {
            "label": row.term or row.soc or "Any",
            "soc": row.soc,
            "level": row.level,
            "cells": [{"text": row.cells[a].text(), "p": row.p_vs_control.get(a)} for a in arms],
        }

    overview = []
    for label, chosen in SAFETY_OVERVIEW:
        row = table(events[chosen(events)] if not events.empty else events)[0]
        overview.append(cells(row) | {"label": label})
    return {
        "population": [(a, int((population["ARM"] == a).sum())) for a in arms],
        "overview": overview,
        # Coded classes alphabetically, then what is still waiting for coding.
        "rows": sorted((cells(r) for r in table(events)[1:]), key=lambda c: c["soc"] == UNCODED),
        "uncoded": int(uncoded.sum()),
    }


def time_to_event(adtte: pd.DataFrame, paramcd: str, *, arms: list[str]) -> dict[str, Any]:
    """Kaplan-Meier curves per arm for one ADTTE parameter: the step curves as SVG paths, numbers
    at risk under the plot, medians with their intervals and the log-rank test across the arms."""
    rows = adtte[adtte["PARAMCD"] == paramcd]
    result: dict[str, Any] = {"code": paramcd, "label": ADTTE_PARAMS[paramcd], "curves": [], "logrank": None}
    if rows.empty:
        return result
    width, height, pad = 600, 220, 40
    horizon = max(float(rows["AVAL"].max()), 1.0)
    ticks = [round(horizon * i / 4) for i in range(5)]

    def x(days: float) -> float:
        return pad + days / horizon * (width - 2 * pad)

    def y(survival: float) -> float:
        return height - pad - survival * (height - 2 * pad)

    for arm in arms:
        mine = rows[rows["ARM"] == arm]
        if mine.empty:
            continue
        km = kaplan_meier(mine["AVAL"].astype(float), 1 - mine["CNSR"].astype(int))
        path, level = [f"M{x(0):.1f},{y(1):.1f}"], 1.0
        for time, survival in zip(km.time, km.survival, strict=True):
            path.append(f"H{x(float(time)):.1f}")
            if survival != level:
                path.append(f"V{y(float(survival)):.1f}")
                level = float(survival)
        path.append(f"H{x(float(mine['AVAL'].max())):.1f}")
        median, lower, upper = km.median()
        result["curves"].append(
            {
                "arm": arm,
                "n": km.n,
                "events": km.events,
                "median": None if math.isnan(median) else median,
                "lower": None if math.isnan(lower) else lower,
                "upper": None if math.isnan(upper) else upper,
                "path": " ".join(path),
                "at_risk": km.at_risk(ticks),
            }
        )
    if len(result["curves"]) >= 2 and int((rows["CNSR"] == 0).sum()) > 0:
        test = logrank(
            rows["AVAL"].astype(float), 1 - rows["CNSR"].astype(int), rows["ARM"].astype(str).tolist()
        )
        if not math.isnan(test.p):
            result["logrank"] = {"chi_square": test.chi_square, "df": test.df, "p": test.p}
    result |= {
        "width": width,
        "height": height,
        "ticks": [(f"{x(t):.1f}", t) for t in ticks],
        # No gridline at S = 1, where every curve starts: it would hide them.
        "y_ticks": [(f"{y(v):.1f}", f"{v:.2f}", v < 1) for v in (0.0, 0.25, 0.5, 0.75, 1.0)],
    }
    return result


def _trajectory(scores: Any, arms: list[str], visit_names: dict[str, str]) -> dict[str, Any]:
    """Mean score per arm and visit as SVG polyline points (the report's plot, drawn server-side)."""
    if scores.empty:
        return {"lines": [], "visits": []}
    visits = sorted(
        set(scores["AVISIT"]), key=lambda v: int(scores.loc[scores["AVISIT"] == v, "AVISITN"].iloc[0])
    )
    top = float(scores["AVAL"].max()) or 1.0
    width, height, pad = 600, 220, 40
    step = (width - 2 * pad) / max(len(visits) - 1, 1)
    lines = []
    for arm in arms:
        points = []
        for i, visit in enumerate(visits):
            cell = scores[(scores["ARM"] == arm) & (scores["AVISIT"] == visit)]
            if len(cell):
                mean = float(cell["AVAL"].mean())
                points.append(f"{pad + i * step:.0f},{height - pad - mean / top * (height - 2 * pad):.0f}")
        lines.append({"arm": arm, "points": " ".join(points)})
    labels = [(f"{pad + i * step:.0f}", visit_names.get(v, v)) for i, v in enumerate(visits)]
    y_ticks = [(f"{height - pad - f * (height - 2 * pad):.0f}", f"{top * f:.0f}") for f in (0.0, 0.5, 1.0)]
    return {
        "lines": lines,
        "visits": labels,
        "top": top,
        "width": width,
        "height": height,
        "y_ticks": y_ticks,
    }


def peak_vitals(study: Study, arms: dict[int, str]) -> list[dict[str, Any]]:
    """The largest rise from the pre-dose baseline in each session, averaged per arm (systolic BP,
    heart rate, temperature): the safety signal the MAPP papers report per session."""
    from haven.dosing.models import DosingSession, Observation
    from haven.dosing.vitals import LABELS
    from haven.protocols.schema import VitalSign

    rises: dict[tuple[str, str], list[float]] = {}
    sessions = DosingSession.objects.filter(course_id__in=arms, first_dose_at__isnull=False)
    for session in sessions:
        assert session.first_dose_at is not None
        for parameter in ("systolic_bp", "heart_rate", "temperature"):
            values = Observation.objects.filter(session=session, parameter=parameter, entered_in_error=False)
            before = values.filter(observed_at__lte=session.first_dose_at).order_by("-observed_at").first()
            after = [
                float(v)
                for v in values.filter(observed_at__gt=session.first_dose_at).values_list("value", flat=True)
            ]
            if before is None or not after:
                continue
            rises.setdefault((arms[session.course_id], parameter), []).append(
                max(after) - float(before.value)
            )
    return [
        {
            "arm": arm,
            "parameter": parameter,
            "label": LABELS.get(VitalSign(parameter), parameter),
            "unit": PEAK_UNITS[parameter],
            "sessions": len(values),
            "mean_peak_rise": sum(values) / len(values),
        }
        for (arm, parameter), values in sorted(rises.items())
    ]


def _table1(adsl: pd.DataFrame, adqs: pd.DataFrame, outcomes: Any, arms: list[str]) -> list[dict[str, Any]]:
    """Table 1 of the randomized: age and the primary instrument's baseline score (n, mean, SD,
    median, range; ANOVA p), sex, site and randomization stratum (n per level; chi-square p)."""
    if adsl.empty:
        return []
    data, numeric = adsl.copy(), ["AGE"]
    data["STRATUM"] = data["STRATUM"].str.replace("|", "; ").str.replace("=", ": ")
    if outcomes is not None and not adqs.empty:
        from haven.outcomes.scoring import resolve

        primary = resolve(outcomes.primary_instrument) or outcomes.primary_instrument
        at_baseline = adqs[(adqs["PARAMCD"] == primary) & (adqs["ABLFL"] == "Y")]
        from haven.outcomes import instruments

        name = instruments.get(primary).name if primary in instruments.INSTRUMENTS else primary
        label = f"Baseline total: {name}"
        data[label] = data["USUBJID"].map(at_baseline.groupby("USUBJID")["AVAL"].first())
        numeric.append(label)
    names = {"AGE": "Age (years)", "SEX": "Sex", "SITEID": "Site", "STRATUM": "Randomization stratum"}
    rows = table1(
        data.rename(columns=names),
        arm="ARM",
        numeric=[names.get(n, n) for n in numeric],
        categorical=[names["SEX"], names["SITEID"], names["STRATUM"]],
        arm_order=arms,
    )
    return [_without_nan(asdict(r)) for r in rows]


def _without_nan(value: Any) -> Any:
    """Undefined statistics (NaN) as None, so the page prints a dash rather than "nan"."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _without_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nan(v) for v in value]
    return value
