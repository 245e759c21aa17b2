"""``haven stats`` reads Parquet as well as CSV: the same table gives the same analysis."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

FEV = Path(__file__).resolve().parents[4] / "shared" / "data" / "mmrm" / "fev_data.csv"
ARGS = ("--outcome", "FEV1", "--subject", "USUBJID", "--visit", "AVISIT", "--arm", "ARMCD", "--json")


def _mmrm(path: Path) -> dict[str, object]:
    out = io.StringIO()
    call_command("stats", "mmrm", str(path), *ARGS, "--reference", "PBO", stdout=out)
    result: dict[str, object] = json.loads(out.getvalue())
    return result


@pytest.mark.skipif(not FEV.exists(), reason="the shared reference data is not beside the repository")
def test_a_parquet_file_gives_the_same_mmrm_as_its_csv(tmp_path: Path) -> None:
    parquet = tmp_path / "fev_data.parquet"
    pd.read_csv(FEV).to_parquet(parquet)
    from_parquet, from_csv = _mmrm(parquet), _mmrm(FEV)
    assert from_parquet["contrasts"] == from_csv["contrasts"]
    assert from_parquet["lsmeans"] == from_csv["lsmeans"]


def test_an_unreadable_parquet_file_is_named_in_the_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_text("USUBJID,FEV1\n1,2\n")
    with pytest.raises(CommandError, match=r"broken\.parquet: not a readable Parquet file"):
        call_command("stats", "table1", str(broken), "--arm", "ARM", stdout=io.StringIO())
