"""No view, API handler, selector, service or template checks a role itself: every check
asks `accounts.permissions.can` (issue 7, point 6). This reads the source."""

from __future__ import annotations

import re
from pathlib import Path

import tocsin

SRC = Path(tocsin.__file__).parent

# Where roles are defined, assigned or created (not checked): the permission module, the
# model, the services that create people and sync Django's flags, the command that
# creates the first administrator, and the demo organisation.
ALLOWED = {
    "accounts/permissions.py",
    "accounts/models.py",
    "accounts/services.py",
    "cli.py",
    "core/demo.py",
    "core/demo_alerts.py",
}
ALLOWED_DIRS = ("demo/",)

PYTHON = [
    (re.compile(r"\.role\s*(==|!=|\bin\b|\bnot\s+in\b)"), "compares a role"),
    (re.compile(r"\brole__in\b"), "filters by a list of roles"),
    (re.compile(r"\bRole\.(REPORTER|AGENT|RESPONDER|MANAGER|ADMIN)\b"), "names a role"),
    (re.compile(r"\b(STAFF_ROLES|CLOSE_ROLES|is_staff_role|is_admin_role)\b"), "a role set"),
    (re.compile(r"\.is_superuser\b|\.is_staff\b"), "Django's role flags"),
]
TEMPLATE = [
    (re.compile(r"\.role\b"), "reads a role"),
    (re.compile(r"\b(is_staff_role|is_admin_role|is_superuser|is_staff)\b"), "a role flag"),
    (re.compile(r"""['"](reporter|agent|responder|manager|admin)['"]"""), "names a role"),
]


def _offences() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*")):
        rel = path.relative_to(SRC).as_posix()
        if rel in ALLOWED or rel.startswith(ALLOWED_DIRS) or "/migrations/" in rel:
            continue
        if path.suffix == ".py":
            rules = PYTHON
        elif path.suffix == ".html":
            rules = TEMPLATE
        else:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pattern, what in rules:
                if pattern.search(line):
                    found.append(f"{rel}:{number}: {what}: {line.strip()}")
    return found


def test_no_role_is_checked_outside_the_permission_module() -> None:
    offences = _offences()
    assert offences == [], "ask accounts.permissions.can instead:\n" + "\n".join(offences)


def test_the_scan_sees_views_api_handlers_and_templates() -> None:
    scanned = {
        p.relative_to(SRC).as_posix() for p in SRC.rglob("*") if p.suffix in (".py", ".html")
    }
    for expected in ("incidents/views.py", "accounts/api.py", "templates/base.html"):
        assert expected in scanned
