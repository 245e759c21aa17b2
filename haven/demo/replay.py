"""A bedside recording as a device would post it: rows of monitor numerics become compact observations.

Pure (no Django): ``haven replay-vitals`` reads the bundled recording with ``read_recording`` and
posts ``row_observations`` of each row to ``POST /api/v1/sessions/{id}/observations``.

A recording has one row a minute and one column per numeric (``HR``, ``PULSE``, ``RESP``, ``SpO2``,
``NBPSys``, ``NBPDias``; arterial ``ABPSys``/``ABPDias`` where there is a line). A 0, an empty cell
or anything that is not a number means "not measured", as in the PhysioNet numerics. Where two
columns measure the same parameter, the first measured one wins: the ECG heart rate before the
oximeter's pulse, the arterial line before the cuff. Values that no living patient can have (a
pulse of 277) are still posted, exactly as a monitor would send them; Haven refuses them.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

RECORDING = Path(__file__).parent / "data" / "s25047-2704-05-04-10-44n_numerics_1min.csv"


@dataclass(frozen=True)
class Channel:
    """One Haven parameter, its UCUM unit, and the recording's columns that measure it, best first."""

    parameter: str
    unit: str
    columns: tuple[str, ...]
    whole: bool = False  # pressures are read in whole mmHg


CHANNELS = (
    Channel("heart_rate", "/min", ("HR", "PULSE")),
    Channel("systolic_bp", "mm[Hg]", ("ABPSys", "NBPSys"), whole=True),
    Channel("diastolic_bp", "mm[Hg]", ("ABPDias", "NBPDias"), whole=True),
    Channel("respiratory_rate", "/min", ("RESP",)),
    Channel("spo2", "%", ("SpO2",)),
)


def read_recording(path: Path = RECORDING) -> list[dict[str, str]]:
    """The recording's rows in order, each a mapping of column name to the cell's text."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [dict(row) for row in csv.DictReader(handle)]


def measured(cell: str | None) -> Decimal | None:
    """The cell's value, or None when the monitor did not measure (0, empty, not a number)."""
    try:
        value = Decimal((cell or "").strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or value == 0:
        return None
    return value.normalize()


def row_observations(row: Mapping[str, str | None], *, at: datetime, id_prefix: str) -> list[dict[str, Any]]:
    """The compact observations of one recording row, stamped ``at``.

    Each gets the id ``<id_prefix>-<parameter>``, so a prefix unique to the row and the pass over the
    recording makes every id unique, and posting the same row again is recognised as a retry.
    """
    observations: list[dict[str, Any]] = []
    for channel in CHANNELS:
        value = next((v for v in (measured(row.get(c)) for c in channel.columns) if v is not None), None)
        if value is None:
            continue
        if channel.whole:
            value = value.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        observations.append(
            {
                "id": f"{id_prefix}-{channel.parameter}",
                "at": at.isoformat(),
                "parameter": channel.parameter,
                "value": int(value) if value == value.to_integral_value() else float(value),
                "unit": channel.unit,
            }
        )
    return observations


def minute_of(row: Mapping[str, str | None], index: int) -> int:
    """The row's minute in the recording (``elapsed_min``), or its position if that is missing."""
    try:
        return int(float(row.get("elapsed_min") or ""))
    except ValueError:
        return index


def batch_body(observations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"observations": list(observations)}
