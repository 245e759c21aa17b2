"""Table 1 of the CDISC pilot (ADSL, intent-to-treat, by planned arm) against base R.

Reference: ``reference/table1_adsl.json`` from ``reference/table1_adsl.R`` (summaries, ``anova(lm())``
and ``chisq.test(correct = FALSE)``). Counts exact; statistics within 1e-9 relative.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from haven.trials.stats.table1 import TOTAL, CategoricalRow, NumericRow, table1

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
REF: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "reference" / "table1_adsl.json").read_text()
)
RTOL = 1e-9


@pytest.fixture(scope="module")
def rows() -> list[NumericRow | CategoricalRow]:
    path = DATA / "cdiscpilot01" / "adam" / "adsl.csv"
    if not path.exists():
        pytest.skip("shared/data/cdiscpilot01 is not beside the repository")
    adsl = pd.read_csv(path)
    return table1(
        adsl[adsl["ITTFL"] == "Y"],
        arm="TRT01P",
        numeric=list(REF["numeric"]),
        categorical=list(REF["categorical"]),
        arm_order=REF["arms"],
    )


def test_numeric_summaries_and_anova_match_r(rows: list[NumericRow | CategoricalRow]) -> None:
    numeric = [r for r in rows if isinstance(r, NumericRow)]
    assert [r.variable for r in numeric] == list(REF["numeric"])
    for row in numeric:
        want = REF["numeric"][row.variable]
        for arm in [*REF["arms"], TOTAL]:
            s = row.by_arm[arm]
            got = [s.n, s.mean, s.sd, s.median, s.minimum, s.maximum]
            assert got == pytest.approx(want["summary"][arm], rel=RTOL), (row.variable, arm)
        assert row.f == pytest.approx(want["f"], rel=RTOL)
        assert row.p == pytest.approx(want["p"], rel=RTOL)


def test_categorical_counts_and_chi_square_match_r(rows: list[NumericRow | CategoricalRow]) -> None:
    categorical = [r for r in rows if isinstance(r, CategoricalRow)]
    assert [r.variable for r in categorical] == list(REF["categorical"])
    for row in categorical:
        want = REF["categorical"][row.variable]
        assert list(row.levels) == want["levels"]
        assert [[row.counts[a][lv] for lv in row.levels] for a in REF["arms"]] == want["counts"]
        assert row.chi_square == pytest.approx(want["chi_square"], rel=RTOL)
        assert row.df == want["df"]
        assert row.p == pytest.approx(want["p"], rel=RTOL)


def test_percentages_are_of_the_arm(rows: list[NumericRow | CategoricalRow]) -> None:
    sex = next(r for r in rows if isinstance(r, CategoricalRow) and r.variable == "SEX")
    assert sex.percents["Placebo"]["F"] == pytest.approx(100 * 53 / 86)
    assert sex.counts[TOTAL]["F"] + sex.counts[TOTAL]["M"] == 254


def test_an_arm_with_nobody_yet_leaves_the_tests_undefined_rather_than_failing() -> None:
    import math

    import pandas as pd

    one = pd.DataFrame({"ARM": ["A"], "AGE": [40], "SEX": ["F"]})
    age, sex = table1(one, arm="ARM", numeric=["AGE"], categorical=["SEX"], arm_order=["A", "B"])
    assert isinstance(sex, CategoricalRow)
    assert math.isnan(age.p)
    assert math.isnan(sex.p)
    assert sex.df is None
    assert (sex.counts["A"], sex.counts["B"]) == ({"F": 1}, {"F": 0})
    # Two arms with values, one empty: the tests run on the arms that have subjects.
    some = pd.DataFrame({"ARM": ["A", "A", "B", "B"], "AGE": [30, 40, 50, 62], "SEX": ["F", "M", "F", "F"]})
    age, sex = table1(some, arm="ARM", numeric=["AGE"], categorical=["SEX"], arm_order=["A", "B", "C"])
    full = table1(some, arm="ARM", numeric=["AGE"], categorical=["SEX"], arm_order=["A", "B"])
    assert isinstance(sex, CategoricalRow)
    assert (age.p, sex.p) == (full[0].p, full[1].p)
    assert sex.df == 1
