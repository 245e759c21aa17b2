"""Protocol files: every problem listed with its path, cross-references checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from haven.protocols.loader import (
    SHIPPED_DIR,
    ProtocolInvalid,
    load_protocol,
    parse_protocol,
    shipped_protocol_files,
)

MINIMAL = """
code: demo
version: "1.0"
title: Demo protocol
phases: [{code: main, name: Main}]
visits:
  - {code: v1, name: Visit 1, kind: assessment, phase: main, target: {anchor: enrollment, days: 0},
     window: {before: 0, after: 3}, duration_minutes: 60}
  - {code: v2, name: Visit 2, kind: assessment, phase: main, target: {anchor: v1, days: 7},
     window: {before: 1, after: 2}, duration_minutes: 60}
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(ProtocolInvalid) as invalid:
        parse_protocol(text, source="test.yaml")
    return [str(p) for p in invalid.value.problems]


def _edit(**changes: object) -> str:
    data = yaml.safe_load(MINIMAL)
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return yaml.safe_dump(data)


def test_a_minimal_protocol_loads() -> None:
    protocol = parse_protocol(MINIMAL)
    assert [v.code for v in protocol.visits] == ["v1", "v2"]


def test_a_negative_window_names_the_path_and_the_rule() -> None:
    assert _problems(_edit(visits__1__window={"before": 1, "after": -2})) == [
        "test.yaml: visits[1].window.after: must be ≥ 0"
    ]


def test_every_problem_is_listed_at_once() -> None:
    text = _edit(visits__0__duration_minutes=0, visits__1__kind="party", title="")
    problems = _problems(text)
    assert "test.yaml: visits[0].duration_minutes: must be ≥ 1" in problems
    assert any(p.startswith("test.yaml: visits[1].kind: must be one of") for p in problems)
    assert "test.yaml: title: must not be empty" in problems
    assert len(problems) == 3


def test_unknown_fields_are_refused() -> None:
    assert _problems(_edit(visits__0__colour="blue")) == [
        "test.yaml: visits[0].colour: is not a field of the protocol format"
    ]


def test_missing_fields_are_named() -> None:
    data = yaml.safe_load(MINIMAL)
    del data["visits"][1]["window"]
    assert _problems(yaml.safe_dump(data)) == ["test.yaml: visits[1].window: is required"]


def test_an_unknown_anchor_is_refused() -> None:
    assert _problems(_edit(visits__1__target={"anchor": "v9", "days": 1})) == [
        "test.yaml: visits[1].target.anchor: 'v9' is neither 'enrollment' nor a visit code"
    ]


def test_anchors_that_loop_are_refused() -> None:
    problems = _problems(_edit(visits__0__target={"anchor": "v2", "days": 1}))
    assert "test.yaml: visits[0].target.anchor: anchors form a loop: v1 → v2 → v1" in problems


def test_duplicate_visit_codes_are_refused() -> None:
    assert _problems(_edit(visits__1__code="v1", visits__1__target={"anchor": "enrollment", "days": 1})) == [
        "test.yaml: visits[1].code: 'v1' is used twice (or is reserved)"
    ]


def test_an_unknown_phase_is_refused() -> None:
    assert _problems(_edit(visits__0__phase="later")) == [
        "test.yaml: visits[0].phase: 'later' is not one of the phases (main)"
    ]


def test_dosing_visits_need_dosing_and_monitoring_rules() -> None:
    problems = _problems(_edit(visits__1__kind="dosing"))
    assert problems == [
        "test.yaml: dosing: is required when the protocol has dosing visits",
        "test.yaml: monitoring: is required when the protocol has dosing visits",
    ]


def test_instrument_visits_must_exist() -> None:
    assert _problems(_edit(instruments=[{"instrument": "pcl5", "visits": ["v1", "v7"]}])) == [
        "test.yaml: instruments[0].visits[1]: 'v7' is not a visit code"
    ]


def test_outcome_visits_need_the_primary_instrument() -> None:
    text = _edit(
        instruments=[{"instrument": "caps5", "visits": ["v1"]}],
        outcomes={
            "primary_instrument": "caps5",
            "baseline_visit": "v1",
            "endpoint_visit": "v2",
            "responder": {"decrease_at_least": 10},
        },
    )
    assert _problems(text) == ["test.yaml: outcomes.endpoint_visit: caps5 is not scheduled at 'v2'"]


def test_a_supplemental_window_must_be_ordered() -> None:
    data = yaml.safe_load((SHIPPED_DIR / "mdma-ptsd.yaml").read_text())
    data["dosing"]["supplemental"]["after_minutes_to"] = 30
    problems = _problems(yaml.safe_dump(data))
    assert any("dosing.supplemental: after_minutes_to must be ≥ after_minutes_from" in p for p in problems)


def test_limits_must_name_measured_parameters() -> None:
    data = yaml.safe_load((SHIPPED_DIR / "mdma-ptsd.yaml").read_text())
    data["monitoring"]["parameters"] = ["heart_rate"]
    data["monitoring"]["limits"] = {"spo2": {"low": 92}}
    data["monitoring"]["relative_limits"] = {}
    problems = _problems(yaml.safe_dump(data))
    assert any(p.endswith("monitoring: limits name parameters that are not measured: spo2") for p in problems)


def test_not_yaml_is_refused_with_the_line() -> None:
    problems = _problems("code: [unclosed\n")
    assert len(problems) == 1
    assert problems[0].startswith("test.yaml: line 2, column 1: not valid YAML")


def test_a_missing_file_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ProtocolInvalid, match=r"nothing\.yaml: cannot be read"):
        load_protocol(tmp_path / "nothing.yaml")


@pytest.mark.parametrize("path", shipped_protocol_files(), ids=lambda p: p.name)
def test_every_shipped_protocol_is_valid(path: Path) -> None:
    protocol = load_protocol(path)
    assert protocol.code == path.stem
