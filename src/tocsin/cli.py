"""The `tocsin` command (filled in below)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django
    from django.core.management import execute_from_command_line

    django.setup()
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "manage":
        execute_from_command_line(["tocsin", *args[1:]])
        return 0
    return 2
