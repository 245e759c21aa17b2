"""``haven replay-vitals``: recording rows as device observations, and a replay over real HTTP."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from haven.accounts.models import ApiToken, TokenKind
from haven.cli import main
from haven.core.testing import Cast, actor_of, make_enrolled_course
from haven.demo.replay import CHANNELS, measured, minute_of, read_recording, row_observations
from haven.dosing import services as dosing
from haven.dosing.models import DosingSession, Observation
from haven.patients.models import Visit

AT = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


# Rows to observations (pure) ---------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["", "0", "0.0", None, "nan", "-", "inf"])
def test_zero_empty_or_not_a_number_means_not_measured(cell: str | None) -> None:
    assert measured(cell) is None


def test_a_row_becomes_one_observation_per_measured_parameter() -> None:
    row = {"elapsed_min": "2", "HR": "89.5", "PULSE": "88.5", "RESP": "21.2", "SpO2": "95.7"}
    row |= {"NBPSys": "87.0", "NBPDias": "46.0", "NBPMean": "62.0"}
    assert row_observations(row, at=AT, id_prefix="replay-r-0-2") == [
        {"id": "replay-r-0-2-heart_rate", "at": AT.isoformat(), "parameter": "heart_rate", "value": 89.5, "unit": "/min"},
        {"id": "replay-r-0-2-systolic_bp", "at": AT.isoformat(), "parameter": "systolic_bp", "value": 87, "unit": "mm[Hg]"},
        {"id": "replay-r-0-2-diastolic_bp", "at": AT.isoformat(), "parameter": "diastolic_bp", "value": 46, "unit": "mm[Hg]"},
        {"id": "replay-r-0-2-respiratory_rate", "at": AT.isoformat(), "parameter": "respiratory_rate", "value": 21.2, "unit": "/min"},
        {"id": "replay-r-0-2-spo2", "at": AT.isoformat(), "parameter": "spo2", "value": 95.7, "unit": "%"},
    ]  # fmt: skip


def test_unmeasured_columns_are_left_out_and_the_pulse_stands_in_for_a_missing_heart_rate() -> None:
    row = {"elapsed_min": "63", "HR": "0.0", "PULSE": "277.0", "RESP": "0.0", "SpO2": "96.0"}
    row |= {"NBPSys": "", "NBPDias": "", "NBPMean": ""}
    observations = row_observations(row, at=AT, id_prefix="p")
    # The artefact is posted as the monitor sent it: refusing it is the server's job.
    assert [(o["parameter"], o["value"]) for o in observations] == [("heart_rate", 277), ("spo2", 96)]


def test_an_arterial_line_wins_over_the_cuff_and_pressures_are_whole_mmhg() -> None:
    row = {"ABPSys": "120.4", "ABPDias": "0", "NBPSys": "131", "NBPDias": "66.5"}
    values = {o["parameter"]: o["value"] for o in row_observations(row, at=AT, id_prefix="p")}
    assert values == {"systolic_bp": 120, "diastolic_bp": 67}


def test_a_row_with_nothing_measured_gives_no_observation() -> None:
    assert row_observations({"elapsed_min": "65", "HR": "0.0", "PULSE": "0"}, at=AT, id_prefix="p") == []


def test_ids_are_unique_over_passes_of_the_bundled_recording() -> None:
    rows = read_recording()
    assert len(rows) == 72
    assert [minute_of(row, i) for i, row in enumerate(rows)] == list(range(72))
    ids = [
        o["id"]
        for loop in range(2)
        for i, row in enumerate(rows)
        for o in row_observations(row, at=AT, id_prefix=f"replay-run-{loop}-{minute_of(row, i)}")
    ]
    assert len(ids) == len(set(ids)) > 72
    assert {o.parameter for o in CHANNELS} == {
        "heart_rate",
        "systolic_bp",
        "diastolic_bp",
        "respiratory_rate",
        "spo2",
    }


# The command against a live server --------------------------------------------------------------
RECORDING = """elapsed_min,HR,PULSE,RESP,SpO2,NBPSys,NBPDias,NBPMean
0,101.3,0.0,16.5,0.0,,,
2,89.5,88.5,21.2,95.7,87.0,46.0,62.0
63,0.0,277.0,0.0,96.0,,,
65,0.0,0.0,0.0,0.0,,,
"""


def _session(cast: Cast) -> DosingSession:
    today = datetime.now(UTC).date()
    course = make_enrolled_course(cast, enrolled_on=min(today, date(2026, 10, 1)))
    return dosing.session_open(
        actor=actor_of(cast.alice), visit=Visit.objects.get(course=course, code="dose1")
    )


def _replay(url: str, session: DosingSession, recording: Path, *, loops: int = 1) -> str:
    out = io.StringIO()
    call_command(
        "replay_vitals",
        url=url,
        session=str(session.public_id),
        loops=loops,
        interval=0,
        wait=10,
        recording=recording,
        stdout=out,
    )
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_replay_posts_each_row_as_a_device_and_the_server_refuses_the_artefact(
    cast: Cast, live_server: object, tmp_path: Path
) -> None:
    session = _session(cast)
    recording = tmp_path / "recording.csv"
    recording.write_text(RECORDING)
    output = _replay(str(live_server), session, recording)

    assert "pass 1, minute 0: stored 2, refused 0" in output
    assert "pass 1, minute 2: stored 5, refused 0" in output
    assert "pass 1, minute 63: stored 1, refused 1 (observations[0].value: 277 /min is not possible" in output
    assert "minute 65" not in output  # nothing measured, nothing posted
    stored = Observation.objects.filter(session=session)
    assert stored.count() == 8
    assert {o.device_token_id for o in stored} == {ApiToken.objects.get(kind=TokenKind.DEVICE).public_id}
    assert stored.get(parameter="heart_rate", value=Decimal("101.3")).device_observation_id.endswith(
        "-0-0-heart_rate"
    )

    # A second run reuses the device token and stores everything again under new ids.
    output = _replay(str(live_server), session, recording)
    assert "reusing the device token" in output
    assert Observation.objects.filter(session=session).count() == 16
    assert ApiToken.objects.filter(kind=TokenKind.DEVICE, revoked_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_an_unknown_session_is_a_clear_error(cast: Cast) -> None:
    with pytest.raises(CommandError, match="session 6f1c0e1e-0000-4000-8000-000000000000 not found"):
        call_command("replay_vitals", session="6f1c0e1e-0000-4000-8000-000000000000", stdout=io.StringIO())


@pytest.mark.django_db
def test_without_a_demo_session_the_command_says_to_load_the_demo(cast: Cast) -> None:
    with pytest.raises(CommandError, match="run `haven demo` first"):
        call_command("replay_vitals", stdout=io.StringIO())


@pytest.mark.django_db
def test_haven_replay_vitals_exits_non_zero_when_the_session_is_not_found(
    cast: Cast, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["haven", "replay-vitals", "--session", "not-a-session"])
    assert exited.value.code == 1
    assert "session not-a-session not found" in capsys.readouterr().err


@pytest.mark.django_db
def test_a_server_that_never_answers_stops_the_replay(cast: Cast, tmp_path: Path) -> None:
    session = _session(cast)
    recording = tmp_path / "recording.csv"
    recording.write_text(RECORDING)
    with pytest.raises(CommandError, match=r"no answer from http://127\.0\.0\.1:9 "):
        call_command(
            "replay_vitals",
            url="http://127.0.0.1:9",
            session=str(session.public_id),
            wait=0,
            stdout=io.StringIO(),
        )
