"""The study report and the ADaM-shaped exports from Haven's own records."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from haven.audit.models import AuditEntry
from haven.core.testing import Cast, actor_of, client_for, make_enrolled_course, make_patient
from haven.outcomes import services as outcomes
from haven.patients.models import Visit
from haven.trials import services
from haven.trials.models import Study

pytestmark = pytest.mark.django_db


def _caps5(level: int, *, diagnosis: bool) -> dict[str, Any]:
    codes = [f"caps5_b{n}" for n in range(1, 6)] + [f"caps5_c{n}" for n in range(1, 3)]
    codes += [f"caps5_d{n}" for n in range(1, 8)] + [f"caps5_e{n}" for n in range(1, 7)]
    return dict.fromkeys(codes, level) | {
        "caps5_criterion_a": True,
        "caps5_criterion_f": diagnosis,
        "caps5_criterion_g": diagnosis,
    }


def report_study(cast: Cast, *, family_name: str = "Report") -> Study:
    """Eight randomized participants with a CAPS-5 at baseline and at the primary endpoint: the
    active arm loses the diagnosis, the placebo arm keeps it unless scored below the threshold."""
    study = services.study_create(
        actor=actor_of(cast.dana),
        protocol_code="mdma-ptsd",
        title="MAPP-style study",
        statisticians=[cast.dana],
        factors=["site"],
        arms=[{"code": "MDMA", "ratio": 1}, {"code": "PBO", "ratio": 1, "control": True}],
    )
    for i in range(8):
        patient = make_patient(
            cast, given_name=f"P{i}", family_name=f"{family_name}{i}", date_of_birth=date(1980 + i, 1, 1)
        )
        course = make_enrolled_course(cast, enrolled_on=date.today() - timedelta(days=5), patient=patient)
        randomization = services.randomize(actor=actor_of(cast.carmen), course=course)
        visits = {v.definition_code: v for v in Visit.objects.filter(course=course)}
        active = randomization.slot.arm == "MDMA"
        for visit, answers in (
            ("baseline", _caps5(2 + i % 3 // 2, diagnosis=True)),
            ("primary", _caps5(0 if active else 2 - (i % 2), diagnosis=not active)),
        ):
            outcomes.response_record(
                actor=actor_of(cast.riley),
                course=course,
                instrument="caps5",
                respondent="rater",
                answers=answers,
                visit=visits[visit],
            )
    return study


def test_the_report_computes_flow_table1_endpoint_and_responses_from_havens_records(
    cast: Cast, tmp_path: Path
) -> None:
    report_study(cast)
    page = client_for(cast.dana).get("/studies/mdma-ptsd/report/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>Randomized</strong></td><td><strong>8</strong>" in html
    table_1 = html[html.index("<h2>Table 1</h2>") : html.index("<h2>Primary endpoint</h2>")]
    assert (
        "<td>Baseline total: Clinician-Administered PTSD Scale for DSM-5 (CAPS-5), past month</td>" in table_1
    )  # the primary instrument's baseline by arm
    assert "<td>Randomization stratum</td>" in table_1
    assert "site: ALD 8" in table_1  # the total column counts every randomized participant
    assert "MDMA - PBO" in html  # the primary analysis contrast (ANCOVA: no visit)
    assert "ANCOVA of the change from baseline, adjusted for baseline" in html  # one post-baseline visit
    assert "<td>remission</td>" in html
    assert "<td>loss of diagnosis</td>" in html  # categories in words, not codes
    assert "<td>… now treatment</td>" not in html  # nobody is in treatment; zero rows are left out
    assert "data snapshot" in html
    assert html.count("<polyline") == 2  # the mean primary score of each arm by visit
    assert "Change from baseline by visit (durability)" in html
    durability = html[html.index("(durability)") : html.index("Response categories")]
    counts = re.findall(
        r"<td>(\d+), -?[\d.]+</td>",
        durability[durability.index("<td>Primary endpoint (CAPS-5, blinded rater)</td>") :],
    )
    assert sum(int(n) for n in counts) == 8  # every participant at the primary endpoint, split by arm
    assert "No dosed sessions with pre- and post-dose vital signs yet." in html
    assert client_for(cast.alice).get("/studies/mdma-ptsd/report/").status_code == 403
    adsl = client_for(cast.dana).get("/studies/mdma-ptsd/adsl.csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(adsl)))
    assert len(rows) == 8
    assert {r["ARM"] for r in rows} == {"MDMA", "PBO"}
    assert "Report" not in adsl  # de-identified
    adqs = list(
        csv.DictReader(io.StringIO(client_for(cast.dana).get("/studies/mdma-ptsd/adqs.csv").content.decode()))
    )
    primary = [r for r in adqs if r["AVISIT"] == "primary"]
    assert all(float(r["CHG"]) == float(r["AVAL"]) - float(r["BASE"]) for r in primary)
    assert (
        AuditEntry.objects.filter(action="export", record_type__in=["trials.adsl", "trials.adqs"]).count()
        == 2
    )
    # Effect sizes at the primary endpoint: Cohen's d of the change, placebo minus active, in pooled
    # SDs — recomputed here from the exported ADQS.
    change = {a: [float(r["CHG"]) for r in primary if arm_of_row(r, rows) == a] for a in ("MDMA", "PBO")}
    n1, n2 = len(change["MDMA"]), len(change["PBO"])
    m1, m2 = sum(change["MDMA"]) / n1, sum(change["PBO"]) / n2
    v1 = sum((x - m1) ** 2 for x in change["MDMA"]) / (n1 - 1)
    v2 = sum((x - m2) ** 2 for x in change["PBO"]) / (n2 - 1)
    d = (m2 - m1) / (((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2)) ** 0.5
    effects = html[
        html.index("Standardised effects") : html.index("</table>", html.index("Standardised effects"))
    ]
    assert f"<td>MDMA</td><td>{n1}</td>" in effects
    assert f"{d:.2f} (" in effects
    # Time to loss of diagnosis: an event where the primary visit's CAPS-5 no longer gives the
    # diagnosis (every active participant, and the placebo ones scored below the symptom
    # threshold), censored at that assessment otherwise; nobody discontinued.
    adtte = list(
        csv.DictReader(
            io.StringIO(client_for(cast.dana).get("/studies/mdma-ptsd/adtte.csv").content.decode())
        )
    )
    arm_of = {r["USUBJID"]: r["ARM"] for r in rows}
    lod = [r for r in adtte if r["PARAMCD"] == "TTLOD"]
    assert len(lod) == 8
    lost = {r["USUBJID"]: r["DIAGFL"] == "N" for r in primary}
    assert {r["USUBJID"]: r["CNSR"] == "0" for r in lod} == lost
    assert all(lost[s] for s, a in arm_of.items() if a == "MDMA")
    assert {r["CNSR"] for r in adtte if r["PARAMCD"] == "TTDISC"} == {"1"}
    # One analysis path: Haven's own exports through `haven stats` give the report's numbers.
    (tmp_path / "adqs.csv").write_bytes(client_for(cast.dana).get("/studies/mdma-ptsd/adqs.csv").content)
    (tmp_path / "adtte.csv").write_bytes(client_for(cast.dana).get("/studies/mdma-ptsd/adtte.csv").content)
    out = io.StringIO()
    call_command(
        "stats", "ancova", str(tmp_path / "adqs.csv"), "--where", "AVISIT=primary", "--outcome", "CHG",
        "--arm", "ARM", "--reference", "PBO", "--covariate", "BASE", "--json", stdout=out,
    )  # fmt: skip
    (contrast,) = [c for c in json.loads(out.getvalue())["pairwise"] if c["label"] == "MDMA - PBO"]
    assert f"<td>MDMA - PBO</td><td>{contrast['estimate']:.2f}</td>" in html
    out = io.StringIO()
    call_command(
        "stats", "km", str(tmp_path / "adtte.csv"), "--where", "PARAMCD=TTLOD", "--arm", "ARM",
        "--time", "AVAL", "--censor", "CNSR", "--json", stdout=out,
    )  # fmt: skip
    curves = json.loads(out.getvalue())["curves"]
    tte = html[html.index("Time to loss of diagnosis (days)") : html.index("Blinding integrity")]
    for arm, curve in curves.items():
        assert f"<td>{arm}</td><td>{curve['n']}</td><td>{curve['events']}</td>" in tte
    assert tte.count('<path d="M40.0,40.0') == 2  # a step curve per arm, starting at S = 1
    for arm in ("MDMA", "PBO"):
        n = sum(1 for a in arm_of.values() if a == arm)
        events = sum(1 for s, a in arm_of.items() if a == arm and lost[s])
        assert f"<td>{arm}</td><td>{n}</td><td>{events}</td>" in tte  # n, events
    if all(lost.values()):
        # Every participant lost the diagnosis at the one assessment day (placebo allocated only the
        # lower scorers): the log-rank test has no information, and the page says so.
        assert "Log-rank test not estimable" in tte
    else:
        assert "Log-rank test: χ²" in tte


def arm_of_row(row: dict[str, str], adsl: list[dict[str, str]]) -> str:
    return next(r["ARM"] for r in adsl if r["USUBJID"] == row["USUBJID"])


def test_peak_vitals_average_the_largest_rise_per_session_by_arm(cast: Cast) -> None:
    import time_machine

    from haven.dosing import services as dosing
    from haven.safety.tests.helpers import T0, dosed
    from haven.trials.models import Study
    from haven.trials.report import peak_vitals

    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        session = dosed(cast)
        for minutes, systolic in ((30, 150), (60, 170), (90, 140)):
            dosing.vitals_record(
                actor=actor_of(cast.alice),
                session=session,
                values={"systolic_bp": (systolic, "mm[Hg]")},
                observed_at=T0 + timedelta(minutes=minutes),
            )
        study = services.study_create(
            actor=actor_of(cast.dana),
            protocol_code="mdma-ptsd",
            title="S",
            statisticians=[cast.dana],
            factors=["site"],
            arms=[{"code": "MDMA", "ratio": 1}, {"code": "PBO", "ratio": 1}],
        )
        randomization = services.randomize(actor=actor_of(cast.carmen), course=session.course)
    rows = peak_vitals(Study.objects.get(pk=study.pk), {session.course_id: randomization.slot.arm})
    peak = next(r for r in rows if r["parameter"] == "systolic_bp")
    assert (peak["arm"], peak["sessions"], peak["mean_peak_rise"]) == (
        randomization.slot.arm,
        1,
        48.0,
    )  # 170 − 122


def test_the_report_tabulates_treatment_emergent_events_and_exports_adae_and_advs(cast: Cast) -> None:
    import time_machine

    from haven.dosing import services as dosing
    from haven.safety import services as safety
    from haven.safety.tests.helpers import T0, dosed, mild, serious

    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        session = dosed(cast)
        services.study_create(
            actor=actor_of(cast.dana),
            protocol_code="mdma-ptsd",
            title="Safety study",
            statisticians=[cast.dana],
            factors=["site"],
            arms=[{"code": "MDMA", "ratio": 1}, {"code": "PBO", "ratio": 1, "control": True}],
        )
        arm = services.randomize(actor=actor_of(cast.carmen), course=session.course).slot.arm
        dosing.vitals_record(
            actor=actor_of(cast.alice),
            session=session,
            values={"systolic_bp": (150, "mm[Hg]")},
            observed_at=T0 + timedelta(minutes=60),
        )
        alice = actor_of(cast.alice)
        safety.ae_record(actor=alice, course=session.course, data=mild())  # uncoded, after the dose
        sae = safety.ae_record(actor=actor_of(cast.priya), course=session.course, data=serious())
        safety.ae_code(
            actor=actor_of(cast.dana),
            event=sae,
            pt_code="10020772",
            pt_name="Hypertension",
            soc_code="10047065",
            soc_name="Vascular disorders",
        )
        before = safety.ae_record(
            actor=alice,
            course=session.course,
            data=mild(verbatim_term="Headache", onset_at=T0 - timedelta(hours=2), relatedness="not_related"),
        )
        html = client_for(cast.dana).get("/studies/mdma-ptsd/report/").content.decode()
        adae_csv = client_for(cast.dana).get("/studies/mdma-ptsd/adae.csv").content.decode()
        advs_csv = client_for(cast.dana).get("/studies/mdma-ptsd/advs.csv").content.decode()
        refused = [client_for(cast.alice).get(f"/studies/mdma-ptsd/{d}.csv") for d in ("adae", "advs")]

    safety_part = html[html.index("Safety: treatment-emergent adverse events") :]
    other = "PBO" if arm == "MDMA" else "MDMA"
    assert f"{arm} N = 1, " in safety_part or f"{arm} N = 1." in safety_part
    assert f"{other} N = 0" in safety_part  # randomized but not dosed: outside the safety population
    overview = {
        label: re.findall(r"<td>(\d+ \([^)]*\) \[\d+\])", safety_part.split(label, 1)[1].split("</tr>", 1)[0])
        for label in ("Any treatment-emergent adverse event", "Serious", "Related to the study drug")
    }
    # The pre-dose headache is not treatment-emergent: two events, both after the dose.
    mine, theirs = (0, 1) if arm == "MDMA" else (1, 0)
    assert overview["Any treatment-emergent adverse event"][mine] == "1 (100.0) [2]"
    assert overview["Any treatment-emergent adverse event"][theirs] == "0 (–) [0]"
    assert overview["Serious"][mine] == "1 (100.0) [1]"
    assert overview["Related to the study drug"][mine] == "1 (100.0) [2]"
    assert "<strong>Vascular disorders</strong>" in safety_part
    assert "Hypertension" in safety_part
    assert "<strong>Not yet coded</strong>" in safety_part
    assert "Jaw clenching" in safety_part
    assert "1 event not yet coded to MedDRA" in safety_part
    assert "Headache" not in safety_part

    adae = list(csv.DictReader(io.StringIO(adae_csv)))
    assert [(r["AETERM"], r["TRTEMFL"], r["AESER"], r["AEDECOD"]) for r in adae] == [
        ("Headache", "N", "N", ""),
        ("Jaw clenching", "Y", "N", ""),
        ("Hypertensive urgency", "Y", "Y", "Hypertension"),
    ]
    assert [r["AESEQ"] for r in adae] == ["1", "2", "3"]
    assert {r["ARM"] for r in adae} == {arm}
    assert adae[2]["AESHOSP"] == "Y"
    assert adae[2]["AESEV"] == "SEVERE"
    assert adae[0]["AERELFL"] == "N"
    assert before.onset_at < T0
    assert adae[0]["ASTDY"] == "1"

    advs = [r for r in csv.DictReader(io.StringIO(advs_csv)) if r["PARAMCD"] == "systolic_bp"]
    assert [(r["ATPTN"], r["AVAL"], r["BASE"], r["CHG"], r["ABLFL"]) for r in advs] == [
        ("-15.0", "122.0", "122.0", "", "Y"),
        ("60.0", "150.0", "122.0", "28.0", ""),
    ]
    assert {r["AVALU"] for r in advs} == {"mm[Hg]"}
    assert {r["SESSION"] for r in advs} == {"1"}
    assert all(r.status_code == 403 for r in refused)
    exported = AuditEntry.objects.filter(action="export", record_type__in=["trials.adae", "trials.advs"])
    assert sorted(exported.values_list("record_type", flat=True)) == ["trials.adae", "trials.advs"]
