"""Run the whole suite on SQLite and, when it is reachable, on PostgreSQL: both at once.

The two passes are separate pytest processes with their own data directories
(test-output/data-sqlite, test-output/data-postgresql); most of a pass's time is spent
waiting on the real processes it starts (gunicorn, workers, Chromium, Alertmanager),
so on two cores they run side by side in about the time of one. The SQLite pass
prints as it goes; the PostgreSQL pass's output is kept in
test-output/postgresql.log and printed when it ends.

Each pass spreads its test files over pytest-xdist workers (`--dist loadfile`: the
tests of one file stay together, in order, in one worker; each worker has its own test
database and data directory): TOCSIN_TEST_WORKERS per pass, 2 by default; 0 runs each
pass in one process. Files are handed out in collection order with the longest first
(tests/conftest.py, LONG_FIRST), not by their number of tests. Most of a pass is waiting
(on processes, Chromium, PostgreSQL), so two workers a pass keep both cores busy. The
rows the migrations seed come back after every flush (tests/seeds.py), so no test
depends on which file its worker ran before it.

Without PostgreSQL the second pass is skipped with a visible reason; under
TOCSIN_TEST_STRICT=1 (CI) that skip fails the run. TOCSIN_TEST_SERIAL=1 runs the two
passes one after the other (easier to read when something hangs; with
TOCSIN_TEST_WORKERS=0 too, one test at a time).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_WORKERS = "2"
OUT = Path("test-output")


def postgres_reason(url: str) -> str | None:
    """None when PostgreSQL answers at `url`, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install '.[postgres]')"
    # pytest-django creates test_<name> through the server's maintenance database, so
    # the database named in the URL need not exist: ask the server, not that database.
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    server = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    try:
        with psycopg.connect(server, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure to connect is a reason to skip
        return f"PostgreSQL at {url} is not reachable: {str(exc).strip().splitlines()[0]}"
    return None


def _env(name: str, database_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    base = env.get("TOCSIN_TEST_DATA_DIR", str(OUT.resolve()))
    env["TOCSIN_DATA_DIR"] = os.path.join(base, f"data-{name}")
    return env


def _workers() -> list[str]:
    """xdist options for one pass (before the caller's own, which win: `-n 0`)."""
    workers = os.environ.get("TOCSIN_TEST_WORKERS", DEFAULT_WORKERS).strip() or "0"
    if workers == "0":
        return []
    # in collection order (tests/conftest.py puts the long files first), not by size
    return ["-n", workers, "--dist", "loadfile", "--no-loadscope-reorder"]


def main() -> int:
    args = sys.argv[1:]
    strict = os.environ.get("TOCSIN_TEST_STRICT") == "1"
    serial = os.environ.get("TOCSIN_TEST_SERIAL") == "1"
    base = [sys.executable, "-m", "pytest", "-p", "tests.xdist_worker", *_workers(), *args]
    OUT.mkdir(exist_ok=True)
    url = os.environ.get("TOCSIN_TEST_DATABASE_URL", DEFAULT_PG)
    reason = postgres_reason(url)

    started = time.monotonic()
    pg: subprocess.Popen[bytes] | None = None
    pg_log = OUT / "postgresql.log"
    if reason is None and not serial:
        print(f"== Tocsin tests on PostgreSQL ({url}), output kept in {pg_log}", flush=True)
        with pg_log.open("wb") as log:
            pg = subprocess.Popen(
                base, env=_env("postgresql", url), stdout=log, stderr=subprocess.STDOUT
            )

    print("== Tocsin tests on SQLite", flush=True)
    try:
        sqlite_rc = subprocess.call(base, env=_env("sqlite", None))
    except BaseException:
        if pg is not None:
            pg.kill()
        raise
    print(f"== SQLite pass done in {time.monotonic() - started:.0f} s", flush=True)

    if reason:
        print(f"== SKIPPED the PostgreSQL pass: {reason}", flush=True)
        if strict:
            print("== TOCSIN_TEST_STRICT=1: a skipped PostgreSQL pass fails the run", flush=True)
            return 1
        return sqlite_rc
    if pg is None:
        print(f"== Tocsin tests on PostgreSQL ({url})", flush=True)
        pg_rc = subprocess.call(base, env=_env("postgresql", url))
    else:
        pg_rc = pg.wait()
        print(
            f"== SQLite pass: {'passed' if sqlite_rc == 0 else f'FAILED ({sqlite_rc})'}; "
            f"PostgreSQL pass: {'passed' if pg_rc == 0 else f'FAILED ({pg_rc})'}; "
            f"{time.monotonic() - started:.0f} s in all. The PostgreSQL pass's output:",
            flush=True,
        )
        sys.stdout.buffer.write(pg_log.read_bytes())
        sys.stdout.flush()
    return sqlite_rc or pg_rc


if __name__ == "__main__":
    raise SystemExit(main())
