"""Shared fixtures: people of every role, incidents, API clients.

The suite runs once per database: `make test` runs it on SQLite, then again with
DATABASE_URL pointing at PostgreSQL (see tests/run_suite.py).
"""

from __future__ import annotations

import fcntl
import itertools
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from hypothesis import settings as hypothesis_settings

import tests.seeds  # noqa: F401  (the seeded rows come back after every flush)
from tocsin.accounts.models import Role, User
from tocsin.accounts.services import token_create, user_create
from tocsin.core.actors import Actor
from tocsin.incidents.models import Incident
from tocsin.incidents.services import incident_create

pytest_plugins = ["tests.cpu_log"]  # TOCSIN_TEST_CPU_LOG: CPU seconds a test (see docs/testing.md)
STRICT = os.environ.get("TOCSIN_TEST_STRICT") == "1"

# Hypothesis's per-example deadline (200 ms) is a wall-time limit: on a loaded CI machine
# a correct example passes it now and then, and the test fails for the load, not the code.
hypothesis_settings.register_profile("tocsin", deadline=None)
hypothesis_settings.load_profile("tocsin")
_seq = itertools.count(1)


# Tests whose Tocsin runs in child processes on a SQLite file of the test's own (the
# children never see DATABASE_URL): on the PostgreSQL pass they would repeat the SQLite
# pass exactly, so that pass leaves them out (deselected, not skipped), unless they use
# the test database themselves.
SQLITE_CHILDREN = ("tests/cli/", "tests/system/test_crash.py")
DB_FIXTURES = {"db", "transactional_db", "django_db_setup", "live_server"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgresql = os.environ.get("DATABASE_URL", "").startswith("postgres")
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        path = str(item.fspath).replace(os.sep, "/")
        if "tests/browser" in path:
            item.add_marker(pytest.mark.browser)
        uses_db = item.get_closest_marker("django_db") or DB_FIXTURES & set(
            getattr(item, "fixturenames", ())
        )
        if on_postgresql and not uses_db and any(part in path for part in SQLITE_CHILDREN):
            dropped.append(item)
        elif not on_postgresql and item.get_closest_marker("postgresql_only"):
            # about PostgreSQL itself (its indexes, its plans): nothing to run on SQLite
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # after pytest-django's ordering (its hook runs first); stable, so that order
        # holds within a file
        items.sort(key=_long_rank)


# Under pytest-xdist (`--dist loadfile`) a worker takes the next file when it is free, in
# collection order, so a long file collected last is a tail one worker runs alone at the
# end. These start first (the longest as measured, then the folders that start real
# processes or a browser); the other files keep their order, and so does each file.
LONG_FIRST = (
    "tests/browser/test_accessibility.py",
    "tests/browser/test_keyboard_walk.py",
    "tests/system/",
    "tests/cli/",
    "tests/browser/",
    "tests/engine/",
)


def _long_rank(item: pytest.Item) -> int:
    path = str(item.fspath).replace(os.sep, "/")
    for rank, part in enumerate(LONG_FIRST):
        if part in path:
            return rank
    return len(LONG_FIRST)


_strict_skips: list[str] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # In strict mode (CI) a skipped test is a failure: PostgreSQL and Chromium must run.
    if STRICT and report.skipped:
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under TOCSIN_TEST_STRICT=1: {reason}"
        _strict_skips.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Relabelling a report does not reach pytest's count of failures, so the exit status
    # would stay 0: a strict-mode skip must fail the run, not only print as failed.
    if _strict_skips and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(role: str = Role.AGENT, username: str | None = None, **kwargs: Any) -> User:
        n = next(_seq)
        username = username or f"{role}{n}"
        return user_create(
            username=username,
            email=kwargs.pop("email", f"{username}@example.com"),
            name=kwargs.pop("name", username.title()),
            role=role,
            password=kwargs.pop("password", "correct horse battery"),
            actor=kwargs.pop("actor", Actor.system("test setup")),
            **kwargs,
        )

    return make


@pytest.fixture
def reporter(make_user: Callable[..., User]) -> User:
    return make_user(Role.REPORTER, username="rita")


@pytest.fixture
def agent(make_user: Callable[..., User]) -> User:
    return make_user(Role.AGENT, username="alice")


@pytest.fixture
def responder(make_user: Callable[..., User]) -> User:
    return make_user(Role.RESPONDER, username="rob")


@pytest.fixture
def manager(make_user: Callable[..., User]) -> User:
    return make_user(Role.MANAGER, username="maya")


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMIN, username="ada")


@pytest.fixture
def make_incident(db: None) -> Callable[..., Incident]:
    def make(reporter: User, **kwargs: Any) -> Incident:
        kwargs.setdefault("title", "Printer on fire")
        kwargs.setdefault("description", "Smoke from the second floor printer")
        return incident_create(actor=Actor.for_user(reporter), reporter=reporter, **kwargs)

    return make


class ApiClient:
    """A Django test client that sends a bearer token and JSON."""

    def __init__(self, user: User) -> None:
        self.user = user
        _, self.token = token_create(user=user, name="tests", actor=Actor.system("test setup"))
        self.client = Client()

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        headers.update(extra or {})
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get(path, params or {}, headers=self._headers(headers))

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(
            path,
            body if body is not None else {},
            content_type="application/json",
            headers=self._headers(headers),
        )

    def patch(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self.client.patch(
            path, body, content_type="application/json", headers=self._headers(headers)
        )


@pytest.fixture
def api(db: None) -> Callable[[User], ApiClient]:
    return ApiClient


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    """Argon2 is deliberately slow; tests that make many people use a fast hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- real processes: one migrated SQLite data directory for the run -------------------


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite data directory migrated once by a real `tocsin migrate`, shared by the
    whole run (by every xdist worker too: the first one makes it under a lock, the others
    wait for it). Never written to: tests get a copy (`copy_migrated`). Running the
    migrations costs a process several seconds of CPU; a copy costs milliseconds."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of one run
    path = root / "migrated-template" / "data"
    with (root / "migrated-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (path.parent / "ready").exists():
            shutil.rmtree(path.parent, ignore_errors=True)
            path.mkdir(parents=True)
            from tests.cli.conftest import tocsin

            result = tocsin(path, "migrate", timeout=600)  # once per run; a loaded machine
            assert result.returncode == 0, result.stderr
            (path.parent / "ready").touch()
    return path


@pytest.fixture
def migrated_data_dir(tmp_path: Path, migrated_template: Path) -> Path:
    """A migrated SQLite data directory of the test's own (a copy of the template)."""
    from tests.cli.conftest import copy_migrated

    return copy_migrated(migrated_template, tmp_path / "data")
