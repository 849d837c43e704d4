"""Issue 7 (21, 20): the production set-up of docs/production.md passes Django's deploy
checks, and `tocsin web` answers an over-long URL itself, in JSON."""

from __future__ import annotations

import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.cli.conftest import ROOT, child_env, free_port, tocsin


def documented_environment() -> dict[str, str]:
    """The environment file of docs/production.md, with its placeholders filled in."""
    text = (ROOT / "docs" / "production.md").read_text()
    block = text.split("### The environment file", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    env = dict(
        line.split("=", 1) for line in block.strip().splitlines() if re.match(r"^[A-Z_]+=", line)
    )
    assert env["TOCSIN_BASE_URL"].startswith("https://")
    env["TOCSIN_SECRET_KEY"] = secrets.token_urlsafe(50)
    # The child runs on SQLite in the test's data directory (see conftest).
    env.pop("DATABASE_URL")
    env.pop("TOCSIN_DATA_DIR")
    return env


def test_the_documented_production_setup_passes_the_deploy_checks(data_dir: Path) -> None:
    env = documented_environment()
    assert env.get("TOCSIN_TRUST_PROXY") == "true"  # nginx sends X-Forwarded-Proto
    result = tocsin(data_dir, "manage", "check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_without_https_the_deploy_checks_say_what_is_missing(data_dir: Path) -> None:
    env = documented_environment()
    env["TOCSIN_BASE_URL"] = "http://incidents.example.com"
    result = tocsin(data_dir, "manage", "check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr, check


def test_web_answers_an_over_long_request_line_in_json(migrated_data_dir: Path) -> None:
    data_dir = migrated_data_dir
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tocsin", "web", "--port", str(port), "--workers", "1"],
        env=child_env(data_dir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # its log would repeat the long URLs
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
                break
            except OSError:  # refused, reset or timed out while booting
                assert proc.poll() is None and time.monotonic() < deadline, "web did not start"
                time.sleep(0.2)
        for url in (f"{base}/api/v1/{'x' * 20_000}", f"{base}/api/v1/incidents?q={'y' * 9000}"):
            try:
                urllib.request.urlopen(url, timeout=60)
            except urllib.error.HTTPError as exc:
                assert exc.code in (401, 404), exc.code  # Tocsin's answer, not gunicorn's 414
                assert exc.headers["Content-Type"].startswith("application/json")
                assert "detail" in exc.read().decode()
            else:
                raise AssertionError("expected an error status")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
