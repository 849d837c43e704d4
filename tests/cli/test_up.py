"""`tocsin up` supervises web + worker + smtp and stops them together."""

from __future__ import annotations

import json
import signal
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.cli.conftest import alive, child_env, descendants, free_port, kill_all

START_TIMEOUT = 90.0


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_ready(proc: subprocess.Popen[bytes], base: str) -> dict[str, object]:
    deadline = time.monotonic() + START_TIMEOUT
    last: object = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"tocsin up exited early with {proc.returncode}"
        try:
            status, body = get(f"{base}/readyz")
            last = (status, body)
            if status == 200:
                return body
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = exc
        time.sleep(0.3)
    raise AssertionError(f"not ready within {START_TIMEOUT} s: {last}")


def test_up_serves_until_sigterm_then_stops_every_child(data_dir: Path) -> None:
    port, smtp_port = free_port(), free_port()
    log = data_dir.parent / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tocsin", "up", "--port", str(port)],
            env=child_env(data_dir, TOCSIN_SMTP_PORT=str(smtp_port)),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    family: set[int] = set()
    try:
        base = f"http://127.0.0.1:{port}"
        body = wait_ready(proc, base)
        assert body["checks"] == {"database": "ok", "worker": "ok"}
        assert get(f"{base}/healthz")[0] == 200

        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            client.ehlo()
            client.mail("alerts@example.com")
            code, message = client.rcpt("nowhere@example.com")
        assert (code, message) == (550, b"5.1.1 No such integration")

        family = descendants(proc.pid)
        commands = {
            " ".join(Path(f"/proc/{pid}/cmdline").read_text().split("\0")[3:4])
            for pid in family
            if alive(pid)
        }
        assert {"web", "worker", "smtp"} <= commands
        assert len(family) >= 4  # web master + at least one web worker, worker, smtp

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=40) == 0
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in family) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in family if alive(pid)]
        assert "Traceback" not in log.read_text()
    finally:
        if proc.poll() is None:
            family |= descendants(proc.pid)
            proc.kill()
            proc.wait()
        kill_all({pid for pid in family if alive(pid)})


def test_up_stops_everything_and_fails_when_a_child_dies(data_dir: Path) -> None:
    # The smtp port is taken: the smtp child exits, so up stops the others and fails.
    port = free_port()
    import socket

    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    taken = blocker.getsockname()[1]
    family: set[int] = set()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tocsin", "up", "--port", str(port), "--smtp-port", str(taken)],
        env=child_env(data_dir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            family |= descendants(proc.pid)
            time.sleep(0.2)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 1
        assert "smtp exited unexpectedly" in err
        assert "Traceback" not in err
        time.sleep(0.5)
        assert not [pid for pid in family if alive(pid)]
    finally:
        blocker.close()
        if proc.poll() is None:
            family |= descendants(proc.pid)
            proc.kill()
            proc.wait()
        kill_all({pid for pid in family if alive(pid)})
