"""The ``haven`` command: ``haven <command> [options]`` runs a Django management command.

``haven demo``, ``haven serve``, ``haven worker``, ``haven createstaff``, ``haven audit verify`` and
every standard command (``haven migrate``, ``haven check --deploy``).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "haven"
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
