"""Response categories against the test vectors of the clinical reference (section 1.11, from the
MAPP1 Fig. 3 definitions in section 1.8), and the per-arm table against the proportions functions."""

from __future__ import annotations

import pytest

from haven.trials.stats.proportions import fisher_exact, wilson
from haven.trials.stats.responses import Category, classify_response, response_table


@pytest.mark.parametrize(
    ("baseline", "endpoint", "diagnosis", "expected"),
    [
        (46, 30, True, "responder"),  # change -16, still meets the diagnosis
        (40, 11, False, "remission"),
        (40, 12, False, "loss_of_diagnosis"),  # not remission: the total is above 11
        (40, 31, True, "non_responder"),  # change -9
        (40, 30, True, "responder"),  # exactly 10 points
    ],
)
def test_reference_vectors_classify_as_published(
    baseline: float, endpoint: float, diagnosis: bool, expected: Category
) -> None:
    assert (
        classify_response(baseline=baseline, endpoint=endpoint, diagnosis_at_endpoint=diagnosis) == expected
    )


def test_withdrawal_comes_first() -> None:
    assert (
        classify_response(baseline=40, endpoint=None, diagnosis_at_endpoint=None, withdrawn=True)
        == "withdrawn"
    )


def test_missing_endpoint_is_an_error_not_a_category() -> None:
    with pytest.raises(ValueError, match="endpoint"):
        classify_response(baseline=40, endpoint=None, diagnosis_at_endpoint=True)


def test_table_gives_wilson_intervals_and_fisher_against_control() -> None:
    def many(category: Category, n: int) -> list[Category]:
        return [category] * n

    active = many("remission", 14) + many("loss_of_diagnosis", 14) + many("non_responder", 14)
    placebo = many("remission", 2) + many("loss_of_diagnosis", 12) + many("non_responder", 30)
    rows = {
        (r.arm, r.category): r
        for r in response_table({"MDMA": active, "PLACEBO": placebo}, control="PLACEBO")
    }
    remission = rows[("MDMA", "remission")]
    assert (remission.n, remission.total) == (14, 42)
    assert remission.proportion == wilson(14, 42)
    assert remission.fisher is not None
    assert remission.fisher.p == fisher_exact([[14, 28], [2, 42]]).p
    assert remission.difference is not None
    assert remission.difference.estimate == pytest.approx(14 / 42 - 2 / 44)
    assert rows[("PLACEBO", "remission")].fisher is None
