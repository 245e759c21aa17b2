"""protocol diff: what changed, in clinical words."""

from __future__ import annotations

import yaml

from haven.protocols.diff import protocol_diff
from haven.protocols.loader import SHIPPED_DIR, parse_protocol

TEXT = (SHIPPED_DIR / "mdma-ptsd.yaml").read_text()


def _amended(**edits: object) -> str:
    data = yaml.safe_load(TEXT)
    data["version"] = "1.1"
    for key, value in edits.items():
        section, _, field = key.partition("__")
        data[section][field] = value
    return yaml.safe_dump(data, allow_unicode=True)


def test_identical_versions_have_no_changes_beyond_the_version() -> None:
    old = parse_protocol(TEXT)
    assert protocol_diff(old, parse_protocol(_amended())) == ["Protocol mdma-ptsd 1.0 → mdma-ptsd 1.1"]


def test_dose_and_window_changes_read_as_sentences() -> None:
    data = yaml.safe_load(TEXT)
    data["version"] = "2.0"
    data["dosing"]["initial_doses"] = [100]
    data["dosing"]["max_per_session"] = 150
    data["visits"][4]["window"]["after"] = 21  # dose1
    data["visits"].append(
        {
            "code": "fu24",
            "name": "Follow-up at 24 months",
            "kind": "follow-up",
            "phase": "follow-up",
            "target": {"anchor": "dose3", "days": 730},
            "window": {"before": 30, "after": 30},
            "duration_minutes": 120,
        }
    )
    data["instruments"][0]["visits"].append("fu24")
    lines = protocol_diff(parse_protocol(TEXT), parse_protocol(yaml.safe_dump(data, allow_unicode=True)))
    assert "Dosing: allowed initial doses changed from 80, 120 mg to 100 mg" in lines
    assert "Dosing: maximum per session changed from 180 mg to 150 mg" in lines
    assert "Visit dose1 (Dosing session 1): window after changed from 14 days to 21 days" in lines
    assert "Visit fu24 (Follow-up at 24 months) added: follow-up, 730 days after dose3" in lines
    assert "Instruments: caps5 added at fu24" in lines
