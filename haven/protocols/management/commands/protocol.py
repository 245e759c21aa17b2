"""``haven protocol validate|diff|load|list``: protocol files from the command line."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.audit.context import Actor
from haven.core.errors import DomainError
from haven.protocols.diff import protocol_diff
from haven.protocols.loader import ProtocolInvalid, load_protocol
from haven.protocols.schema import Protocol
from haven.protocols.selectors import protocol_of, protocol_version_get, protocol_version_list
from haven.protocols.services import protocol_load


def _resolve(ref: str) -> Protocol:
    """A file path, or ``code@version`` of a loaded protocol."""
    if "@" in ref and not Path(ref).exists():
        code, _, version = ref.partition("@")
        return protocol_of(protocol_version_get(code=code, version=version))
    return load_protocol(ref)


class Command(BaseCommand):
    help = "Protocol files: validate, diff (in clinical words), load into the database, list."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        validate = sub.add_parser("validate", help="Check files; list every problem with its path.")
        validate.add_argument("files", nargs="+")
        diff = sub.add_parser("diff", help="What changed from A to B (files or code@version).")
        diff.add_argument("old")
        diff.add_argument("new")
        load = sub.add_parser(
            "load", help="Load files into the database (a frozen version is never changed)."
        )
        load.add_argument("files", nargs="+")
        load.add_argument("--reason", default="", help="Why an unfrozen version is replaced.")
        sub.add_parser("list", help="Loaded protocol versions.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except ProtocolInvalid as invalid:
            raise CommandError(f"{len(invalid.problems)} problem(s):\n{invalid}") from None
        except DomainError as error:
            raise CommandError(error.message) from None

    def _validate(self, options: dict[str, Any]) -> None:
        problems: list[str] = []
        for name in options["files"]:
            try:
                protocol = load_protocol(name)
            except ProtocolInvalid as invalid:
                problems.extend(str(p) for p in invalid.problems)
            else:
                self.stdout.write(
                    f"{name}: valid ({protocol.code} {protocol.version}, {len(protocol.visits)} visit definitions)"
                )
        if problems:
            raise CommandError(f"{len(problems)} problem(s):\n" + "\n".join(problems))

    def _diff(self, options: dict[str, Any]) -> None:
        lines = protocol_diff(_resolve(options["old"]), _resolve(options["new"]))
        self.stdout.write("\n".join(lines) if lines else "No differences.")

    def _load(self, options: dict[str, Any]) -> None:
        actor = Actor.system(f"haven protocol load (operator {getpass.getuser()})")
        for name in options["files"]:
            path = Path(name)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"{name}: cannot be read ({exc.strerror})") from None
            result = protocol_load(actor=actor, text=text, source=path.name, reason=options["reason"])
            state = "loaded" if result.created else ("replaced" if result.changes else "unchanged")
            self.stdout.write(f"{result.version}: {state}")
            for line in result.changes:
                self.stdout.write(f"  {line}")

    def _list(self, options: dict[str, Any]) -> None:
        for version in protocol_version_list():
            frozen = f"frozen {version.frozen_at:%Y-%m-%d}" if version.frozen_at else "not frozen"
            self.stdout.write(f"{version.code:<20} {version.version:<8} {frozen:<18} {version.title}")
