"""Crash tests for paging (issue 10, N3 and N5): real `tocsin worker` processes killed with
SIGKILL after a message's claim, after the provider call, and in the middle of an
escalation step.

On PostgreSQL the children use the test's own database (two recovery workers); on SQLite
a migrated file of the test's own (one worker). A service with a one-level policy pages
one person through a webhook contact method pointing at a receiver on loopback that
records every request with its Idempotency-Key (the outbox message id). The channel is
the test double of Tocsin's webhook channel (tests.notify.outbox_testchannel), registered
in the children by the WORKER wrapper.

The worker to be killed runs alone with TOCSIN_TEST_CRASH_AT set (a test hook in
tocsin.notify.engine: the process SIGKILLs itself at that point); once it is dead the
recovery workers run without it. Leases are 3 s (TOCSIN_OUTBOX_LEASE_SECONDS) and one send
is in flight per destination (TOCSIN_OUTBOX_PER_DESTINATION=1), so a kill in the provider
window can double exactly one message. Asserted afterwards: one page and one message per
incident, every message sent, nothing left `sending`, every message received, at most
one duplicate for the kill after the provider call and none for the others.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import ROOT, child_env, tocsin
from tests.notify.outbox_testchannel import WORKER, Receiver

ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith("postgres")
# On PostgreSQL the children share the test's own database (flushed after each test).
pytestmark = [pytest.mark.django_db(transaction=True)] if ON_POSTGRESQL else []

INCIDENTS = 4
LEASE_SECONDS = 3
DEADLINE = 90.0  # seconds, per phase: a bound for a loaded CI machine, not a speed

SETUP = """
import json
from tocsin.accounts.models import Role
from tocsin.accounts.services import contact_method_add, user_create
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.escalation.policies import policy_create, service_paging_set
setup = Actor.system("test setup")
user = user_create(username="oncall", email="oncall@example.com", name="On Call",
                   role=Role.RESPONDER, password="correct horse battery", actor=setup)
contact_method_add(user=user, kind="webhook", address=%(url)r, actor=setup)
policy = policy_create(actor=setup, name="Crash", levels=[
    {"delay_minutes": 30, "targets": [{"type": "user", "id": "oncall"}]}])
service = Service.objects.create(name="Payments")
service_paging_set(service=service, actor=setup, policy=policy)
print(json.dumps({"service": service.pk}))
"""

INCIDENTS_CODE = """
import json
from tocsin.accounts.models import User
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.incidents.services import incident_create
user = User.objects.get(username="oncall")
service = Service.objects.get(name="Payments")
refs = [incident_create(actor=Actor.for_user(user), reporter=user, title=f"Crash {n}",
                        description="x", service=service, impact=1, urgency=1).ref
        for n in range(%(count)d)]
print(json.dumps(refs))
"""

STATE = """
import json
from tocsin.escalation.models import Page
from tocsin.notify.models import OutboxMessage
rows = [
    {"id": str(m.message_id), "state": m.state, "attempts": m.attempts,
     "incident": m.incident_id, "error": m.last_error, "purpose": m.purpose}
    for m in OutboxMessage.objects.order_by("pk")
]
pages = list(Page.objects.values_list("incident_id", flat=True))
print(json.dumps({"rows": rows, "pages": pages}))
"""


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)


@dataclass
class Env:
    data_dir: Path
    extra: dict[str, str]
    tmp: Path

    def env(self, **more: str) -> dict[str, str]:
        env = child_env(self.data_dir, **self.extra, **more)
        env["PYTHONPATH"] = f"{ROOT / 'src'}{os.pathsep}{ROOT}"
        return env

    def shell(self, code: str) -> Any:
        result = tocsin(
            self.data_dir, "manage", "shell", "--no-imports", "-c", code, env=self.extra
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return shell_json_output(result.stdout)

    def worker(self, name: str, **more: str) -> Worker:
        log = self.tmp / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", WORKER],
                env=self.env(**more),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.tmp,
            )
        return Worker(proc, log)


def shell_json_output(stdout: str) -> Any:
    import json

    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def sqlite_template(request: pytest.FixtureRequest) -> Path | None:
    if ON_POSTGRESQL:
        return None
    return request.getfixturevalue("migrated_template")  # copied by each test


@pytest.fixture
def children(tmp_path: Path, sqlite_template: Path | None) -> Iterator[tuple[Env, Receiver]]:
    receiver = Receiver().start()
    data_dir = tmp_path / "data"
    extra = {
        "TOCSIN_OUTBOUND_ALLOW": "127.0.0.0/8",
        "TOCSIN_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "TOCSIN_OUTBOX_PER_DESTINATION": "1",
        "TOCSIN_OUTBOX_STOP_WAIT_SECONDS": "1",
        "TOCSIN_TEST_CHANNEL_KINDS": "webhook",
        "TOCSIN_TEST_CHANNEL_TIMEOUT": "2",
        "TOCSIN_LOG_LEVEL": "WARNING",
    }
    if sqlite_template is None:
        from django.db import connection

        db = connection.settings_dict
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        extra["DATABASE_URL"] = (
            f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        data_dir.mkdir()
    else:
        shutil.copytree(sqlite_template, data_dir)
    env = Env(data_dir, extra, tmp_path)
    env.shell(SETUP % {"url": f"{receiver.url}/hook"})
    try:
        yield env, receiver
    finally:
        receiver.stop()


def _wait(what: str, check: Any, deadline: float, logs: list[Worker]) -> Any:
    end = time.monotonic() + deadline
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > end:
            tails = "\n".join(f"--- {w.log.name}\n{w.log.read_text()[-2000:]}" for w in logs)
            raise AssertionError(f"not reached within {deadline:.0f} s: {what}\n{tails}")
        time.sleep(0.2)


def run_crash(env: Env, receiver: Receiver, crash_at: str) -> dict[str, Any]:
    """One worker that kills itself at `crash_at`, then the recovery workers; returns
    the final state of the outbox and the pages."""
    started = time.monotonic()
    doomed = env.worker("doomed", TOCSIN_TEST_CRASH_AT=crash_at)
    workers = [doomed]
    try:
        refs = env.shell(INCIDENTS_CODE % {"count": INCIDENTS})
        assert len(refs) == INCIDENTS
        code = _wait("the worker killed itself", doomed.proc.poll, DEADLINE, workers)
        assert code == -signal.SIGKILL, (code, doomed.log.read_text()[-3000:])
        killed_at = time.monotonic()
        recovery = 1 if env.extra.get("DATABASE_URL") is None else 2
        workers += [env.worker(f"worker-{n}") for n in range(recovery)]

        def finished() -> dict[str, Any] | None:
            if len(set(receiver.idempotency_keys())) < INCIDENTS:
                return None
            state = env.shell(STATE)
            open_rows = [r for r in state["rows"] if r["state"] in ("queued", "sending")]
            return None if open_rows or len(state["rows"]) < INCIDENTS else state

        state = _wait("every page delivered and recorded", finished, DEADLINE, workers)
        for worker in workers[1:]:
            assert worker.proc.poll() is None, worker.log.read_text()[-3000:]
        # the killed claim was picked up after its lease, not before
        assert time.monotonic() - killed_at < DEADLINE
    finally:
        for worker in workers:
            worker.stop()
    assert time.monotonic() - started < 60
    return state


def check(state: dict[str, Any], receiver: Receiver, *, duplicates_at_most: int) -> Counter[str]:
    rows = state["rows"]
    # N3: one page and one message per incident, each sent; nothing left `sending`
    assert len(rows) == INCIDENTS, rows
    assert Counter(state["pages"]) == Counter({r["incident"]: 1 for r in rows}), state
    assert {r["purpose"] for r in rows} == {"page"}
    assert {r["state"] for r in rows} == {"sent"}, rows
    received = Counter(receiver.idempotency_keys())
    assert set(received) == {r["id"] for r in rows}, (received, rows)
    extra = sum(n - 1 for n in received.values())
    assert extra <= duplicates_at_most, received
    return received


def test_killed_after_the_claim_nothing_is_lost_or_doubled(children: Any) -> None:
    env, receiver = children
    state = run_crash(env, receiver, "after_claim")
    check(state, receiver, duplicates_at_most=0)
    # the claimed message was taken again after its lease: a second attempt
    assert max(r["attempts"] for r in state["rows"]) == 2


def test_killed_after_the_provider_call_one_page_is_doubled_at_most(children: Any) -> None:
    env, receiver = children
    state = run_crash(env, receiver, "after_send")
    received = check(state, receiver, duplicates_at_most=1)
    # the page in the provider window when the worker died went again, with the same
    # message id (the receiver can drop it), and only that one
    doubled = [key for key, n in received.items() if n == 2]
    assert len(doubled) == 1
    attempts = {r["id"]: r["attempts"] for r in state["rows"]}
    assert attempts[doubled[0]] == 2


def test_killed_in_the_middle_of_an_escalation_step_nothing_is_lost_or_doubled(
    children: Any,
) -> None:
    env, receiver = children
    state = run_crash(env, receiver, "climb_step")
    check(state, receiver, duplicates_at_most=0)
    # the step was rolled back with the process and fired again: first attempts only
    assert {r["attempts"] for r in state["rows"]} == {1}
