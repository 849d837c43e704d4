"""Run the whole suite on SQLite, then on PostgreSQL when it is reachable.

Without PostgreSQL the second pass is skipped with a visible reason; under
TOCSIN_TEST_STRICT=1 (CI) that skip fails the run.
"""

from __future__ import annotations

import os
import subprocess
import sys

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


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


def main() -> int:
    args = sys.argv[1:]
    strict = os.environ.get("TOCSIN_TEST_STRICT") == "1"
    base = [sys.executable, "-m", "pytest", *args]
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env["TOCSIN_DATA_DIR"] = env.get("TOCSIN_TEST_DATA_DIR", os.path.abspath("test-output/data"))
    print("== Tocsin tests on SQLite", flush=True)
    sqlite_rc = subprocess.call(base, env=env)
    url = os.environ.get("TOCSIN_TEST_DATABASE_URL", DEFAULT_PG)
    reason = postgres_reason(url)
    if reason:
        print(f"== SKIPPED the PostgreSQL pass: {reason}", flush=True)
        if strict:
            print("== TOCSIN_TEST_STRICT=1: a skipped PostgreSQL pass fails the run", flush=True)
            return 1
        return sqlite_rc
    print(f"== Tocsin tests on PostgreSQL ({url})", flush=True)
    env["DATABASE_URL"] = url
    pg_rc = subprocess.call(base, env=env)
    return sqlite_rc or pg_rc


if __name__ == "__main__":
    raise SystemExit(main())
