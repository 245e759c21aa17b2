"""Device observations: compact and FHIR R4 shapes, partial batches, and the rules for refusing items."""

from __future__ import annotations

import csv
import itertools
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from haven.dosing.ingest import ItemError, ParsedObservation, parse_observations
from haven.protocols.schema import VitalSign

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
AT = "2026-12-01T09:30:00Z"
T_AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
VITALS_STREAM = Path(__file__).resolve().parents[4] / "shared" / "data" / "vitals_stream"


def compact(device_id: str, parameter: str, value: object, unit: str, at: str = AT) -> dict[str, Any]:
    return {"id": device_id, "at": at, "parameter": parameter, "value": value, "unit": unit}


def loinc(*codes: str) -> dict[str, Any]:
    return {"coding": [{"system": "http://loinc.org", "code": code} for code in codes]}


def quantity(value: object, ucum: str) -> dict[str, Any]:
    return {"value": value, "unit": ucum, "system": "http://unitsofmeasure.org", "code": ucum}


def observation(
    device_id: str, codes: tuple[str, ...], value: object, ucum: str, at: str = AT
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"code": "vital-signs"}]}],
        "code": loinc(*codes),
        "identifier": [{"system": "urn:device:monitor-7", "value": device_id}],
        "effectiveDateTime": at,
        "valueQuantity": quantity(value, ucum),
    }


def bp_panel(device_id: str, systolic: object, diastolic: object, at: str = AT) -> dict[str, Any]:
    panel = observation(device_id, ("85354-9",), None, "mm[Hg]", at)
    del panel["valueQuantity"]
    panel["component"] = [
        {"code": loinc("8480-6"), "valueQuantity": quantity(systolic, "mm[Hg]")},
        {"code": loinc("8462-4"), "valueQuantity": quantity(diastolic, "mm[Hg]")},
        {"code": loinc("8478-0"), "valueQuantity": quantity(70, "mm[Hg]")},  # mean pressure: not read
    ]
    return panel


def bundle(*resources: dict[str, Any] | None, kind: str = "batch") -> dict[str, Any]:
    entries = [{"resource": r} if r is not None else {"request": {"method": "POST"}} for r in resources]
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def test_a_compact_observation_is_normalized_to_utc_and_decimal() -> None:
    result = parse_observations(
        compact("dev-123-0001", "heart_rate", 88, "/min", "2026-12-01T10:30:00+01:00"), now=NOW
    )
    assert result.errors == []
    assert result.items == [
        ParsedObservation("dev-123-0001", T_AT, VitalSign.HEART_RATE, Decimal(88), "/min", "8867-4")
    ]
    assert result.items[0].at.tzinfo is UTC


def test_a_compact_batch_keeps_decimals_exact_and_converts_fahrenheit() -> None:
    body = {
        "observations": [
            compact("a", "temperature", 36.6, "Cel"),  # a float: no binary artefact
            compact("b", "temperature", Decimal("98.6"), "[degF]"),  # json.loads(parse_float=Decimal)
            compact("c", "spo2", 97.5, "%"),
            compact("d", "suds", 3, "{score}"),
        ]
    }
    result = parse_observations(body, now=NOW)
    assert result.errors == []
    assert [(i.device_id, i.value, i.unit, i.loinc) for i in result.items] == [
        ("a", Decimal("36.6"), "Cel", "8310-5"),
        ("b", Decimal("37.00"), "Cel", "8310-5"),
        ("c", Decimal("97.5"), "%", "59408-5"),
        ("d", Decimal(3), "{score}", None),
    ]


@pytest.mark.parametrize(
    ("codes", "value", "ucum", "parameter", "stored", "unit"),
    [
        (("8867-4",), 88, "/min", VitalSign.HEART_RATE, Decimal(88), "/min"),
        (("8310-5",), 37.2, "Cel", VitalSign.TEMPERATURE, Decimal("37.2"), "Cel"),
        (("8310-5",), 100.4, "[degF]", VitalSign.TEMPERATURE, Decimal("38.00"), "Cel"),
        (("59408-5", "2708-6"), 97, "%", VitalSign.SPO2, Decimal(97), "%"),
        (("2708-6", "59408-5"), 97, "%", VitalSign.SPO2, Decimal(97), "%"),
        (("9279-1",), 16, "/min", VitalSign.RESPIRATORY_RATE, Decimal(16), "/min"),
        (("8480-6",), 128, "mm[Hg]", VitalSign.SYSTOLIC_BP, Decimal(128), "mm[Hg]"),
    ],
)
def test_a_fhir_observation_of_each_vital_sign_code(
    codes: tuple[str, ...], value: object, ucum: str, parameter: VitalSign, stored: Decimal, unit: str
) -> None:
    result = parse_observations(observation("mon-1", codes, value, ucum), now=NOW)
    assert result.errors == []
    assert result.items == [
        ParsedObservation(
            "mon-1", T_AT, parameter, stored, unit, codes[0] if codes[0] != "2708-6" else "59408-5"
        )
    ]


def test_spo2_coded_only_with_the_companion_code_is_accepted_and_keeps_that_code() -> None:
    result = parse_observations(observation("mon-1", ("2708-6",), 96, "%"), now=NOW)
    assert [(i.parameter, i.loinc) for i in result.items] == [(VitalSign.SPO2, "2708-6")]


def test_a_blood_pressure_panel_yields_systolic_and_diastolic() -> None:
    result = parse_observations(bp_panel("mon-1-0042", 132, 84), now=NOW)
    assert result.errors == []
    assert result.items == [
        ParsedObservation("mon-1-0042/8480-6", T_AT, VitalSign.SYSTOLIC_BP, Decimal(132), "mm[Hg]", "8480-6"),
        ParsedObservation("mon-1-0042/8462-4", T_AT, VitalSign.DIASTOLIC_BP, Decimal(84), "mm[Hg]", "8462-4"),
    ]


def test_a_bundle_returns_valid_entries_and_names_each_refused_one() -> None:
    missing_time = observation("e2", ("8867-4",), 70, "/min")
    del missing_time["effectiveDateTime"]
    no_unit = observation("e8", ("9279-1",), 14, "/min")
    del no_unit["valueQuantity"]["code"]
    body = bundle(
        observation("e0", ("8867-4",), 72, "/min"),
        {"resourceType": "Patient", "id": "p1"},
        missing_time,
        bp_panel("e3", 120, 80),
        bp_panel("e4", 400, 80),
        observation("e5", ("1234-5",), 7, "mmol/L"),
        None,
        observation("e0", ("8867-4",), 75, "/min"),
        no_unit,
        observation("e9", ("8867-4",), "88", "/min"),
        observation("e10", ("8310-5",), 37, "mm[Hg]"),
        kind="transaction",
    )
    result = parse_observations(body, now=NOW)
    assert [i.device_id for i in result.items] == ["e0", "e3/8480-6", "e3/8462-4"]
    assert result.errors == [
        ItemError(
            1,
            None,
            "entry[1].resource.resourceType: must be 'Observation'; entry[1].resource.status: is required; entry[1].resource.code: is required; entry[1].resource.identifier: is required; entry[1].resource.effectiveDateTime: is required",
        ),
        ItemError(2, "e2", "entry[2].resource.effectiveDateTime: is required"),
        ItemError(
            4,
            "e4",
            "entry[4].resource.component[0].valueQuantity.value: 400 mmHg is not possible (accepted 40–300 mm[Hg])",
        ),
        ItemError(5, "e5", "entry[5].resource.code.coding: no vital-sign LOINC code (got 1234-5)"),
        ItemError(6, None, "entry[6].resource: is required"),
        ItemError(
            7,
            "e0",
            "entry[7].resource.identifier[0].value: duplicate id in this batch (first at entry[0].resource)",
        ),
        ItemError(8, "e8", "entry[8].resource.valueQuantity.code: is required"),
        ItemError(9, "e9", "entry[9].resource.valueQuantity.value: must be a number"),
        ItemError(10, "e10", "entry[10].resource.valueQuantity.code: unit must be Cel or [degF], not mm[Hg]"),
    ]


def test_a_batch_of_more_than_1000_is_refused_whole() -> None:
    def batch(n: int) -> dict[str, Any]:
        return {"observations": [compact(f"d-{i}", "heart_rate", 70, "/min") for i in range(n)]}

    assert len(parse_observations(batch(1000), now=NOW).items) == 1000
    refused = parse_observations(batch(1001), now=NOW)
    assert refused.items == []
    assert refused.errors == [ItemError(-1, None, "batch: at most 1000 observations")]
    many = bundle(*[observation(f"d-{i}", ("8867-4",), 70, "/min") for i in range(1001)])
    assert parse_observations(many, now=NOW).errors == [
        ItemError(-1, None, "batch: at most 1000 observations")
    ]


def test_a_repeated_id_keeps_the_first_and_refuses_the_others() -> None:
    body = {
        "observations": [
            compact("x", "heart_rate", 70, "/min"),
            compact("y", "heart_rate", 71, "/min"),
            compact("x", "heart_rate", 72, "/min"),
            compact("x", "heart_rate", 73, "/min"),
        ]
    }
    result = parse_observations(body, now=NOW)
    assert [(i.device_id, i.value) for i in result.items] == [("x", Decimal(70)), ("y", Decimal(71))]
    duplicate = "duplicate id in this batch (first at observations[0])"
    assert result.errors == [
        ItemError(2, "x", f"observations[2].id: {duplicate}"),
        ItemError(3, "x", f"observations[3].id: {duplicate}"),
    ]


def test_a_naive_datetime_is_refused() -> None:
    result = parse_observations(
        {"observations": [compact("n", "heart_rate", 70, "/min", "2026-12-01T09:30:00")]}, now=NOW
    )
    assert result.errors == [ItemError(0, "n", "observations[0].at: needs a time zone")]


def test_a_timestamp_more_than_five_minutes_ahead_is_refused() -> None:
    edge = (NOW + timedelta(minutes=5)).isoformat()
    ahead = (NOW + timedelta(minutes=5, seconds=1)).astimezone(timezone(timedelta(hours=2))).isoformat()
    result = parse_observations(
        bundle(
            observation("ok", ("8867-4",), 70, "/min", edge),
            observation("late", ("8867-4",), 70, "/min", ahead),
        ),
        now=NOW,
    )
    assert [i.device_id for i in result.items] == ["ok"]
    assert result.errors == [
        ItemError(
            1, "late", f"entry[1].resource.effectiveDateTime: {ahead} is more than 5 minutes in the future"
        )
    ]


def test_an_unknown_loinc_code_is_refused() -> None:
    result = parse_observations(observation("g", ("2339-0",), 5, "mmol/L"), now=NOW)
    assert result.items == []
    assert result.errors == [ItemError(0, "g", "code.coding: no vital-sign LOINC code (got 2339-0)")]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (compact("v", "heart_rate", "88", "/min"), "value: must be a number"),
        (compact("v", "heart_rate", True, "/min"), "value: must be a number"),
        (compact("v", "heart_rate", float("nan"), "/min"), "value: must be a number"),
        (compact("v", "systolic_bp", 120.5, "mm[Hg]"), "value: must be a whole number"),
        (compact("v", "heart_rate", 88, "bpm"), "unit: unit must be /min, not bpm"),
        (
            compact("v", "glucose", 5, "mmol/L"),
            "parameter: unknown parameter; one of systolic_bp, diastolic_bp, heart_rate, temperature, spo2, respiratory_rate, suds",
        ),
        (
            compact("v", "heart_rate", 88, "/min", "yesterday"),
            "at: 'yesterday' is not an ISO 8601 date and time",
        ),
        ({"id": "v", "at": AT, "parameter": "heart_rate", "value": 88}, "unit: is required"),
        (
            {"id": "", "at": AT, "parameter": "heart_rate", "value": 88, "unit": "/min"},
            "id: must not be empty",
        ),
        (
            {**bp_panel("p", 120, 80), "component": []},
            "component: a blood pressure panel needs 8480-6 and 8462-4",
        ),
        (
            {**observation("s", ("8867-4",), 70, "/min"), "status": "cancelled"},
            "status: must be 'final', 'amended' or 'preliminary'",
        ),
    ],
)
def test_a_single_refused_object_is_index_zero(body: dict[str, Any], reason: str) -> None:
    result = parse_observations(body, now=NOW)
    assert result.items == []
    assert [(e.index, e.reason) for e in result.errors] == [(0, reason)]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "body: must be a JSON object"),
        ({"resourceType": "Patient"}, "resourceType: must be 'Observation' or 'Bundle', not 'Patient'"),
        ({**bundle(), "type": "searchset"}, "type: must be 'batch', 'transaction' or 'collection'"),
        (bundle(), "entry: must be a non-empty list"),
        ({"observations": {}}, "observations: must be a non-empty list"),
    ],
)
def test_a_malformed_body_is_refused_whole(body: object, reason: str) -> None:
    assert parse_observations(body, now=NOW).errors == [ItemError(-1, None, reason)]


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_observations({}, now=datetime(2026, 12, 1))


def test_real_monitor_readings_parse_and_their_artefacts_are_refused() -> None:
    """Ten minutes of a real ICU record (PhysioNet s25047, one-minute means; 0 or empty = not measured),
    posted as a monitor would: a FHIR bundle, rates as the monitor's one-minute means."""
    source = VITALS_STREAM / "s25047-2704-05-04-10-44n_numerics_1min.csv"
    if not source.exists():
        pytest.skip(f"shared data not present: {source}")
    with source.open(newline="") as handle:
        rows = list(itertools.islice(csv.DictReader(handle), 10))
    start = NOW - timedelta(minutes=10)
    resources: list[dict[str, Any]] = []
    for row in rows:
        minute = int(row["elapsed_min"])
        at = (start + timedelta(minutes=minute)).isoformat()
        for column, code, ucum in (
            ("HR", "8867-4", "/min"),
            ("RESP", "9279-1", "/min"),
            ("SpO2", "59408-5", "%"),
        ):
            value = Decimal(row[column])
            if value:
                resources.append(observation(f"s25047-{minute}-{column}", (code,), value, ucum, at))
        if row["NBPSys"] and row["NBPDias"]:
            resources.append(
                bp_panel(f"s25047-{minute}-bp", Decimal(row["NBPSys"]), Decimal(row["NBPDias"]), at)
            )
    result = parse_observations(bundle(*resources), now=NOW)
    artefact = next(i for i, r in enumerate(resources) if r["identifier"][0]["value"] == "s25047-7-bp")
    assert result.errors == [
        ItemError(
            artefact,
            "s25047-7-bp",
            f"entry[{artefact}].resource.component[1].valueQuantity.value: 10 mmHg is not possible (accepted 20–200 mm[Hg])",
        )
    ]
    assert len(result.items) == len(resources) - 1 + 3  # three valid panels give two readings each
    first = {i.parameter: i.value for i in result.items if i.device_id.startswith("s25047-2-")}
    assert first == {
        VitalSign.HEART_RATE: Decimal("89.5"),
        VitalSign.RESPIRATORY_RATE: Decimal("21.2"),
        VitalSign.SPO2: Decimal("95.7"),
        VitalSign.SYSTOLIC_BP: Decimal(87),
        VitalSign.DIASTOLIC_BP: Decimal(46),
    }
    # A monitor's one-minute mean keeps its decimals.
    raw = parse_observations(observation("raw", ("8867-4",), float(rows[0]["HR"]), "/min"), now=NOW)
    assert raw.errors == []
    assert raw.items[0].value == Decimal(rows[0]["HR"])
