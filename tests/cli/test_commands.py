"""`tocsin` as a user runs it: real subprocesses on a SQLite data directory of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import shell_json, tocsin


def assert_one_line_error(result: object) -> str:
    returncode = result.returncode  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert returncode != 0
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("tocsin: error: ")
    return lines[0]


def test_check_reports_pending_migrations_then_migrate_makes_it_pass(data_dir: Path) -> None:
    before = tocsin(data_dir, "check")
    assert before.returncode == 1
    assert "pending migration" in before.stderr
    assert "Database reachable" in before.stdout

    migrated = tocsin(data_dir, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "Database ready" in migrated.stdout
    assert (data_dir / "tocsin.sqlite3").exists()

    after = tocsin(data_dir, "check")
    assert after.returncode == 0, after.stderr
    assert "Migrations: up to date." in after.stdout
    assert "no issues" in after.stdout

    again = tocsin(data_dir, "migrate")
    assert again.returncode == 0
    assert "0 migration(s) applied" in again.stdout


def test_createadmin_takes_the_password_from_the_environment(migrated: Path) -> None:
    result = tocsin(
        migrated,
        "createadmin",
        "--username",
        "root",
        "--email",
        "root@example.com",
        env={"TOCSIN_ADMIN_PASSWORD": "a long admin password"},
    )
    assert result.returncode == 0, result.stderr
    found = shell_json(
        migrated,
        "import json; from tocsin.accounts.models import User;"
        " u = User.objects.get(username='root');"
        " print(json.dumps([u.role, u.email, u.is_superuser,"
        " u.check_password('a long admin password'), u.check_password('wrong')]))",
    )
    assert found == ["admin", "root@example.com", True, True, False]

    twice = tocsin(
        migrated,
        "createadmin",
        "--username",
        "root",
        "--email",
        "root@example.com",
        env={"TOCSIN_ADMIN_PASSWORD": "a long admin password"},
    )
    assert "already exists" in assert_one_line_error(twice)


def test_createadmin_without_terminal_and_without_variable_fails_clearly(migrated: Path) -> None:
    result = tocsin(migrated, "createadmin", "--username", "nopass", "--email", "n@example.com")
    line = assert_one_line_error(result)
    assert "TOCSIN_ADMIN_PASSWORD" in line
    count = shell_json(
        migrated,
        "from tocsin.accounts.models import User;"
        " print(User.objects.filter(username='nopass').count())",
    )
    assert count == 0


def test_createadmin_refuses_a_too_short_password(migrated: Path) -> None:
    result = tocsin(
        migrated,
        "createadmin",
        "--username",
        "shorty",
        "--email",
        "s@example.com",
        env={"TOCSIN_ADMIN_PASSWORD": "short"},
    )
    assert "password" in assert_one_line_error(result)


def test_token_create_prints_the_token_last_and_stores_only_its_hash(migrated: Path) -> None:
    made = tocsin(
        migrated,
        "createadmin",
        "--username",
        "tokenowner",
        "--email",
        "t@example.com",
        env={"TOCSIN_ADMIN_PASSWORD": "another long password"},
    )
    assert made.returncode == 0, made.stderr
    result = tocsin(migrated, "token", "create", "tokenowner", "--name", "ci")
    assert result.returncode == 0, result.stderr
    raw = result.stdout.strip().splitlines()[-1]
    assert raw.startswith("tcn_") and " " not in raw and len(raw) > 30

    found = shell_json(
        migrated,
        "import json; from tocsin.accounts.selectors import token_authenticate;"
        " from tocsin.accounts.models import ApiToken;"
        f" t = token_authenticate({raw!r}); bad = token_authenticate({raw[:-1]!r});"
        f" plain = ApiToken.objects.filter(token_hash={raw!r}).exists();"
        " print(json.dumps([t.user.username, t.name, bad is None, plain]))",
    )
    assert found == ["tokenowner", "ci", True, False]
    for path in migrated.glob("tocsin.sqlite3*"):
        assert raw.encode() not in path.read_bytes()


def test_token_create_for_an_unknown_person_is_a_one_line_error(migrated: Path) -> None:
    line = assert_one_line_error(tocsin(migrated, "token", "create", "nobody"))
    assert "nobody" in line


@pytest.mark.parametrize(
    ("args", "env", "mentions"),
    [
        ([], {}, "COMMAND"),
        (["launch"], {}, "launch"),
        (["web", "--port", "eighty"], {}, "--port"),
        (["up", "--port", "70000"], {}, "65535"),
        (["web", "--workers", "0"], {}, "--workers"),
        (["worker", "--only", "outbox,nosuch"], {}, "'nosuch'"),
        (["worker", "--skip", "ingest", "--only", "outbox"], {}, "not both"),
        (["token"], {}, "ACTION"),
        (["token", "create"], {}, "username"),
        (["createadmin", "--username", "x"], {}, "--email"),
        (["manage", "no_such_command"], {}, "no_such_command"),
        (["check"], {"TOCSIN_DEBUG": "maybe"}, "TOCSIN_DEBUG"),
        (["migrate"], {"TOCSIN_SMTP_PORT": "twenty"}, "TOCSIN_SMTP_PORT"),
        (["migrate"], {"DATABASE_URL": "nosuchdb://x/y"}, "configuration"),
        (["migrate"], {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nope"}, "database"),
        (["check"], {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nope"}, "database"),
    ],
)
def test_bad_arguments_and_environment_give_one_line_and_a_non_zero_exit(
    data_dir: Path, args: list[str], env: dict[str, str], mentions: str
) -> None:
    line = assert_one_line_error(tocsin(data_dir, *args, env=env))
    assert mentions in line


def test_manage_reaches_django_management_commands(migrated: Path) -> None:
    result = tocsin(migrated, "manage", "showmigrations", "engine")
    assert result.returncode == 0, result.stderr
    assert "[X] 0001_initial" in result.stdout


def test_help_lists_every_command(data_dir: Path) -> None:
    result = tocsin(data_dir, "--help")
    assert result.returncode == 0
    for command in (
        "up",
        "web",
        "worker",
        "smtp",
        "migrate",
        "createadmin",
        "token",
        "demo",
        "check",
        "manage",
    ):
        assert command in result.stdout


DEMO_COUNTS = """
import json
from django.utils import timezone
from tocsin.accounts.models import Role, Team, User
from tocsin.catalog.models import Category, Service
from tocsin.incidents.models import Incident, TimelineEntry
print(json.dumps({
    "teams": Team.objects.count(),
    "managed_teams": Team.objects.filter(manager__isnull=False).count(),
    "people": User.objects.count(),
    "roles": sorted(set(User.objects.values_list("role", flat=True))),
    "zones": sorted(set(User.objects.values_list("time_zone", flat=True))),
    "services": Service.objects.count(),
    "top": Category.objects.filter(parent=None).count(),
    "sub": Category.objects.filter(parent__isnull=False).count(),
    "incidents": Incident.objects.count(),
    "statuses": sorted(set(Incident.objects.values_list("status", flat=True))),
    "priorities": sorted(set(Incident.objects.values_list("priority", flat=True))),
    "span_days": (timezone.now() - Incident.objects.order_by("reported_at")[0].reported_at).days,
    "kinds": sorted(set(TimelineEntry.objects.values_list("kind", flat=True))),
    "visibilities": sorted(set(TimelineEntry.objects.values_list("visibility", flat=True))),
    "breached": Incident.objects.filter(response_breached_at__isnull=False).count()
    + Incident.objects.filter(resolution_breached_at__isnull=False).count(),
    "merged": Incident.objects.filter(duplicate_of__isnull=False).count(),
    "system_closed": TimelineEntry.objects.filter(
        actor_kind="system", data__action="close"
    ).count(),
    "reopened": TimelineEntry.objects.filter(data__action="reopen").count(),
    "entries": TimelineEntry.objects.count(),
    "login": User.objects.get(username="ada").check_password("demo"),
}, default=str))
"""


def test_demo_loads_a_realistic_organisation_once(migrated: Path) -> None:
    result = tocsin(migrated, "demo")
    assert result.returncode == 0, result.stderr
    assert 'password "demo"' in result.stdout
    counts = shell_json(migrated, DEMO_COUNTS)
    assert counts["teams"] >= 3 and counts["managed_teams"] == counts["teams"]
    assert counts["people"] >= 10
    assert counts["roles"] == sorted(["reporter", "agent", "responder", "manager", "admin"])
    assert len(counts["zones"]) >= 4
    assert counts["services"] >= 8
    assert counts["top"] >= 3 and counts["sub"] >= 2 * counts["top"]
    assert counts["incidents"] >= 60
    assert 60 <= counts["span_days"] <= 90
    assert counts["statuses"] == sorted(
        ["new", "acknowledged", "in_progress", "on_hold", "resolved", "closed"]
    )
    assert counts["priorities"] == [1, 2, 3, 4]
    for kind in (
        "created",
        "transition",
        "note",
        "assignment",
        "escalation",
        "merge",
        "sla",
        "field",
        "confirmation",
    ):
        assert kind in counts["kinds"]
    assert counts["visibilities"] == ["internal", "public"]
    assert counts["breached"] > 0 and counts["merged"] >= 1
    assert counts["system_closed"] > 0 and counts["reopened"] >= 1
    assert counts["login"] is True

    again = tocsin(migrated, "demo")
    assert again.returncode == 0, again.stderr
    assert "already loaded" in again.stdout
    assert shell_json(migrated, DEMO_COUNTS) == counts


def test_demo_needs_a_migrated_database(data_dir: Path) -> None:
    line = assert_one_line_error(tocsin(data_dir, "demo"))
    assert "tocsin migrate" in line


def test_version(data_dir: Path) -> None:
    result = tocsin(data_dir, "--version")
    assert result.returncode == 0
    assert result.stdout.startswith("tocsin ")
