"""Helpers for driving the real `tocsin` command in a subprocess.

The subprocess ALWAYS runs against SQLite in the test's own data directory: DATABASE_URL
is removed from its environment. On the PostgreSQL pass the parent process holds the
pytest test database; a child writing to it (or to the developer's database) would clash,
and what is tested here (argument handling, process supervision) does not depend on the
database engine. The PostgreSQL behaviour of the code underneath is covered in-process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def child_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # Set in-process by the browser tests' conftest (Playwright's event loop); a real
    # process must not inherit it (and `check --deploy` warns about it).
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env["TOCSIN_DATA_DIR"] = str(data_dir)
    env["TOCSIN_LOG_LEVEL"] = "WARNING"
    env["PYTHONPATH"] = str(ROOT / "src")
    env.update(extra)
    return env


def tocsin(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args],
        env=child_env(data_dir, **(env or {})),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=data_dir.parent,
    )


def shell_json(data_dir: Path, code: str) -> Any:
    """Run Python inside `tocsin manage shell` and return what it printed as JSON (last line)."""
    result = tocsin(data_dir, "manage", "shell", "--no-imports", "-c", code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def kill_all(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def copy_migrated(template: Path, data_dir: Path) -> Path:
    """`data_dir` (absent or empty) becomes a copy of the migrated template."""
    if data_dir.exists():
        data_dir.rmdir()
    shutil.copytree(template, data_dir)
    return data_dir


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Path:
    """A migrated SQLite data directory shared by the tests of one module."""
    return copy_migrated(migrated_template, tmp_path_factory.mktemp("cli") / "data")
