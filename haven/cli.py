"""The ``haven`` command: ``haven <command> [options]`` runs a Django management command.

``haven demo``, ``haven serve``, ``haven worker``, ``haven createstaff``, ``haven audit verify``,
``haven replay-vitals`` and every standard command (``haven migrate``, ``haven check --deploy``).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "haven"
    # Haven's own commands are spelled with hyphens (``haven replay-vitals``); Django's module names
    # cannot hold one, so the name is translated.
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
