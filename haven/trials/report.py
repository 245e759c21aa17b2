"""The study report: CONSORT flow, Table 1, response categories, the primary endpoint (MMRM), the
safety table and blinding integrity — computed by the validated engine from Haven's ADaM-shaped
data, with the data snapshot's hash and Haven's version so the report can be reproduced."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict
from typing import Any

from haven import __version__
from haven.accounts.models import User
from haven.patients.models import EnrollmentCourse
from haven.protocols.selectors import protocol_of
from haven.trials.adam import study_data
from haven.trials.models import Randomization, Study
from haven.trials.services import blinding_summary, control_arm
from haven.trials.stats.ancova import ancova_fit
from haven.trials.stats.mmrm import mmrm_fit
from haven.trials.stats.responses import classify_response, response_table
from haven.trials.stats.table1 import table1

FLOW = (
    "candidate",
    "screening",
    "eligible",
    "consented",
    "preparation",
    "treatment",
    "integration",
    "follow_up",
    "off_study",
)


def study_report(*, user: User, study: Study) -> dict[str, Any]:
    data = study_data(user=user, study=study)
    adsl, adqs = data.adsl, data.adqs
    snapshot = hashlib.sha256((adsl.to_csv(index=False) + adqs.to_csv(index=False)).encode()).hexdigest()
    courses = EnrollmentCourse.objects.filter(protocol_code=study.protocol_code)
    statuses = Counter(courses.values_list("status", flat=True))
    randomized = Randomization.objects.filter(study=study).count()
    arms = [str(a["code"]) for a in study.arms]
    control = control_arm(study)
    report: dict[str, Any] = {
        "study": study,
        "snapshot": snapshot,
        "version": __version__,
        "consort": {
            "registered": courses.count(),
            "by_status": [(s, statuses.get(s, 0)) for s in FLOW]
            + [
                ("withdrawn", statuses.get("withdrawn", 0)),
                ("lost", statuses.get("lost", 0)),
                ("ineligible", statuses.get("ineligible", 0)),
            ],
            "randomized": randomized,
            "by_arm": [(a, int((adsl["ARM"] == a).sum())) for a in arms],
        },
        "table1": [
            _row(r) for r in table1(adsl, arm="ARM", numeric=["AGE"], categorical=["SEX"], arm_order=arms)
        ]
        if not adsl.empty
        else [],
        "responses": [],
        "primary": None,
        "primary_note": "",
        "blinding": blinding_summary(user=user, study=study),
    }
    outcomes = None
    first = courses.select_related("protocol_version").first()
    if first is not None:
        outcomes = protocol_of(first.protocol_version).outcomes
    if outcomes is None or adqs.empty:
        report["primary_note"] = "No primary endpoint defined, or no scores yet."
        return report
    from haven.outcomes.scoring import resolve

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
        report["responses"] = [asdict(r) for r in response_table(categories, control=control)]
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
            )
            summary = fit.summary()
            report["primary"] = {
                "method": f"MMRM of the change from baseline ({summary['model']['covariance']} covariance, "
                f"{summary['model']['df']} df), adjusted for baseline",
                "n_subjects": summary["model"]["n_subjects"],
                "contrasts": summary["contrasts"],
            }
    except (ValueError, ArithmeticError, KeyError) as error:
        report["primary_note"] = f"The primary analysis is not estimable yet: {error}."
    return report


def _row(row: Any) -> dict[str, Any]:
    return asdict(row)
