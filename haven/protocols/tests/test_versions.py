"""Loading protocol versions: idempotent, audited, and frozen once a patient is enrolled."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from haven.audit.context import Actor
from haven.audit.models import AuditEntry
from haven.core.errors import ValidationFailed
from haven.protocols.errors import ProtocolFileInvalid, ProtocolFrozen
from haven.protocols.loader import SHIPPED_DIR
from haven.protocols.models import ProtocolVersion
from haven.protocols.services import protocol_freeze, protocol_load

pytestmark = pytest.mark.django_db
TEXT = (SHIPPED_DIR / "mdma-ptsd.yaml").read_text()
OPERATOR = Actor.system("test operator")


def _amend(**dosing: object) -> str:
    data = yaml.safe_load(TEXT)
    data["dosing"].update(dosing)
    return yaml.safe_dump(data, allow_unicode=True)


def _out(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_loading_stores_the_text_and_the_validated_content_and_audits_it() -> None:
    result = protocol_load(actor=OPERATOR, text=TEXT, source="mdma-ptsd.yaml")
    assert result.created
    version = ProtocolVersion.objects.get()
    assert (version.code, version.version) == ("mdma-ptsd", "1.0")
    assert version.source_text == TEXT
    assert version.content["dosing"]["initial_doses"] == ["80", "120"]
    entry = AuditEntry.objects.get(record_type="protocols.protocolversion")
    assert entry.action == "create"
    assert entry.changes["code"]["new"] == "mdma-ptsd"


def test_loading_the_same_file_again_changes_nothing() -> None:
    protocol_load(actor=OPERATOR, text=TEXT, source="mdma-ptsd.yaml")
    again = protocol_load(actor=OPERATOR, text=TEXT, source="mdma-ptsd.yaml")
    assert not again.created
    assert again.changes == []
    assert AuditEntry.objects.count() == 1


def test_an_invalid_file_is_refused_with_every_problem_and_nothing_is_stored() -> None:
    bad = TEXT.replace("duration_minutes: 480", "duration_minutes: 0", 1).replace(
        "max_per_session: 180", "max_per_session: 50"
    )
    with pytest.raises(ProtocolFileInvalid) as refused:
        protocol_load(actor=OPERATOR, text=bad, source="bad.yaml")
    assert refused.value.fields == {
        "visits[4].duration_minutes": ["must be ≥ 1"],
        "dosing": ["max_per_session must be ≥ every initial dose"],
    }
    assert not ProtocolVersion.objects.exists()


def test_an_unfrozen_version_may_be_corrected_with_a_reason() -> None:
    protocol_load(actor=OPERATOR, text=TEXT, source="mdma-ptsd.yaml")
    with pytest.raises(ValidationFailed, match="reason"):
        protocol_load(actor=OPERATOR, text=_amend(max_per_session=170), source="mdma-ptsd.yaml")
    result = protocol_load(
        actor=OPERATOR, text=_amend(max_per_session=170), source="mdma-ptsd.yaml", reason="typo in the draft"
    )
    assert result.changes == ["Dosing: maximum per session changed from 180 mg to 170 mg"]
    update = AuditEntry.objects.get(action="update")
    assert update.reason == "typo in the draft"
    assert update.changes["content"]["new"] == result.changes


def test_a_frozen_version_is_never_changed() -> None:
    version = protocol_load(actor=OPERATOR, text=TEXT, source="mdma-ptsd.yaml").version
    protocol_freeze(actor=OPERATOR, version=version)
    with pytest.raises(ProtocolFrozen, match="Give the amendment a new version number"):
        protocol_load(actor=OPERATOR, text=_amend(max_per_session=170), source="x.yaml", reason="change")
    version.refresh_from_db()
    assert version.content["dosing"]["max_per_session"] == "180"


def test_freezing_is_recorded_once() -> None:
    version = protocol_load(actor=OPERATOR, text=TEXT, source="mdma-ptsd.yaml").version
    protocol_freeze(actor=OPERATOR, version=version)
    first = ProtocolVersion.objects.get().frozen_at
    protocol_freeze(actor=OPERATOR, version=version)
    assert ProtocolVersion.objects.get().frozen_at == first
    assert AuditEntry.objects.filter(action="update").count() == 1


def test_validate_command_lists_problems_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEXT.replace("window: {before: 2, after: 7}", "window: {before: 2, after: -7}", 1))
    with pytest.raises(
        CommandError, match=r"1 problem\(s\):\nbad\.yaml: visits\[2\]\.window\.after: must be ≥ 0"
    ):
        _out("protocol", "validate", str(bad))


def test_validate_command_accepts_the_shipped_files() -> None:
    output = _out("protocol", "validate", *(str(p) for p in sorted(SHIPPED_DIR.glob("*.yaml"))))
    assert "mdma-ptsd.yaml: valid (mdma-ptsd 1.0, " in output


def test_diff_command_compares_a_file_with_a_loaded_version(tmp_path: Path) -> None:
    protocol_load(actor=OPERATOR, text=TEXT, source="mdma-ptsd.yaml")
    amended = tmp_path / "amended.yaml"
    amended.write_text(
        _amend(initial_doses=[100], max_per_session=150).replace('version: "1.0"', 'version: "1.1"')
    )
    output = _out("protocol", "diff", "mdma-ptsd@1.0", str(amended))
    assert "Dosing: allowed initial doses changed from 80, 120 mg to 100 mg" in output


def test_load_and_list_commands() -> None:
    assert "mdma-ptsd 1.0: loaded" in _out("protocol", "load", str(SHIPPED_DIR / "mdma-ptsd.yaml"))
    assert "mdma-ptsd 1.0: unchanged" in _out("protocol", "load", str(SHIPPED_DIR / "mdma-ptsd.yaml"))
    listing = _out("protocol", "list")
    assert "mdma-ptsd" in listing
    assert "not frozen" in listing
