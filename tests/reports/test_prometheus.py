"""`/metrics` in one process: what a scraper reads, who may read it, and that reading
changes nothing. The metrics added up across gunicorn's workers and the engine's worker
are tested with real processes in tests/system/test_prometheus.py."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from tests.notify.conftest import closed_smtp_port, smtp_server  # noqa: F401 (fixtures)
from tocsin.accounts.models import User
from tocsin.catalog.models import Integration
from tocsin.catalog.services import integration_create, service_create
from tocsin.core import prometheus_env
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.env import ConfigError
from tocsin.engine.engine import run_tick
from tocsin.incidents.models import Incident, Status
from tocsin.notify.engine import OutboxModule
from tocsin.notify.models import OutboxMessage, OutboxState
from tocsin.notify.services import outbox_enqueue_email

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module", autouse=True)
def _forget_old_runs() -> None:
    """The test data directory outlives test runs: files of their processes (gone) go."""
    prometheus_env.clean("web")
    prometheus_env.clean("worker")


PRIORITIES = ["P1", "P2", "P3", "P4"]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a Prometheus text answer, by (name, sorted labels)."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(client: Client | None = None, **headers: Any) -> Samples:
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(response.content.decode())


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def webhook() -> tuple[Integration, str]:
    service = service_create(name="Checkout", actor=Actor.system("test setup"))
    return integration_create(service=service, kind="webhook", actor=Actor.system("test setup"))


def post_alert(key: str, dedup: str) -> int:
    response = Client().post(
        f"/integrations/webhook/{key}",
        {"summary": "Queue backed up", "severity": "warning", "dedup_key": dedup},
        content_type="application/json",
    )
    return response.status_code


# --- what a scraper reads ---------------------------------------------------------------


def test_open_incidents_breaches_and_inbox_depth_are_read_from_the_database(
    make_incident: Callable[..., Incident], reporter: User, webhook: tuple[Integration, str]
) -> None:
    def incident(priority: int, status: str = Status.NEW, **fields: Any) -> None:
        made = make_incident(reporter)
        Incident.objects.filter(pk=made.pk).update(priority=priority, status=status, **fields)

    breached = now() - dt.timedelta(minutes=5)
    incident(1)
    incident(1, Status.ACKNOWLEDGED, response_breached_at=breached)
    incident(2, Status.ON_HOLD, resolution_breached_at=breached, response_breached_at=breached)
    incident(3, Status.IN_PROGRESS)
    incident(3, Status.RESOLVED, response_breached_at=breached)  # not open: not counted
    incident(4, Status.CLOSED)
    _integration, key = webhook
    assert post_alert(key, "a") == 202
    assert post_alert(key, "b") == 202

    found = scrape()
    assert value(found, "tocsin_database_up") == 1
    open_by_priority = {p: value(found, "tocsin_incidents_open", priority=p) for p in PRIORITIES}
    assert open_by_priority == {"P1": 2, "P2": 1, "P3": 1, "P4": 0}
    assert value(found, "tocsin_incidents_sla_breached", priority="P1", target="response") == 1
    assert value(found, "tocsin_incidents_sla_breached", priority="P1", target="resolution") == 0
    assert value(found, "tocsin_incidents_sla_breached", priority="P2", target="response") == 1
    assert value(found, "tocsin_incidents_sla_breached", priority="P2", target="resolution") == 1
    assert value(found, "tocsin_incidents_sla_breached", priority="P3", target="response") == 0
    assert value(found, "tocsin_inbox_pending") == 2
    assert 0 <= value(found, "tocsin_inbox_oldest_pending_age_seconds") < 60


def test_accepted_ingest_requests_are_counted_per_integration_kind(
    webhook: tuple[Integration, str],
) -> None:
    _integration, key = webhook
    name = "tocsin_ingest_requests_accepted_total"
    before = scrape()
    assert post_alert(key, "a") == 202
    assert post_alert(key, "b") == 202
    assert post_alert("not-a-key", "c") == 404  # refused: not counted
    after = scrape()
    assert delta(before, after, name, integration="webhook") == 2
    events = "tocsin_ingest_events_accepted_total"
    assert delta(before, after, events, integration="webhook") == 2


class Slow:
    name = "prom_test_slow"

    def tick(self, now: dt.datetime) -> int:
        time.sleep(0.02)
        return 0


class Broken:
    name = "prom_test_broken"

    def tick(self, now: dt.datetime) -> int:
        raise RuntimeError("boom")


def test_engine_turns_are_timed_per_module_and_failures_counted() -> None:
    before = scrape()
    run_tick([Slow(), Broken()])
    run_tick([Slow()])
    after = scrape()
    count = "tocsin_engine_module_duration_seconds_count"
    total = "tocsin_engine_module_duration_seconds_sum"
    assert delta(before, after, count, module="prom_test_slow") == 2
    assert delta(before, after, total, module="prom_test_slow") >= 0.04
    assert delta(before, after, count, module="prom_test_broken") == 1
    failures = "tocsin_engine_module_failures_total"
    assert delta(before, after, failures, module="prom_test_broken") == 1
    assert value(after, failures, module="prom_test_slow") == value(
        before, failures, module="prom_test_slow"
    )
    # buckets are cumulative and end with +Inf = count
    inf = (
        "tocsin_engine_module_duration_seconds_bucket",
        (("le", "+Inf"), ("module", "prom_test_slow")),
    )
    assert after[inf] == value(after, count, module="prom_test_slow")


def test_delivery_latency_retries_and_failures_per_channel(
    smtp_server: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    before = scrape()
    outbox_enqueue_email(recipient="rita@example.com", subject="Hello", body="Body")
    OutboxMessage.objects.create(
        channel="nosuch",
        recipient="x",
        subject="s",
        body="b",
        created_at=now(),
        not_before=now(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        OutboxModule().tick(now())
    assert set(OutboxMessage.objects.values_list("channel", "state")) == {
        ("email", OutboxState.SENT),
        ("nosuch", OutboxState.FAILED),
    }
    after = scrape()

    def moved(name: str, channel: str) -> float:
        return delta(before, after, name, channel=channel)

    assert moved("tocsin_delivery_latency_seconds_count", "email") == 1
    assert moved("tocsin_delivery_latency_seconds_sum", "email") >= 0
    assert moved("tocsin_delivery_failures_total", "nosuch") == 1
    assert moved("tocsin_delivery_failures_total", "email") == 0


def test_a_failed_attempt_that_will_be_retried_is_counted_as_a_retry(
    closed_smtp_port: int,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    before = scrape()
    outbox_enqueue_email(recipient="rita@example.com", subject="Hello", body="Body")
    with django_capture_on_commit_callbacks(execute=True):
        OutboxModule().tick(now())
    after = scrape()
    name = "tocsin_delivery_retries_total"
    assert delta(before, after, name, channel="email") == 1
    assert value(after, "tocsin_delivery_failures_total", channel="email") == value(
        before, "tocsin_delivery_failures_total", channel="email"
    )


def test_every_metric_has_help_and_tocsin_names() -> None:
    response = Client().get("/metrics")
    families = list(text_string_to_metric_families(response.content.decode()))
    names = {family.name for family in families}
    assert {
        "tocsin_incidents_open",
        "tocsin_incidents_sla_breached",
        "tocsin_inbox_pending",
        "tocsin_inbox_oldest_pending_age_seconds",
        "tocsin_database_up",
    } <= names
    for family in families:
        assert family.name.startswith("tocsin_"), family.name
        assert family.documentation, family.name


def test_openmetrics_is_served_when_asked_for() -> None:
    response = Client().get("/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text")
    names = {family.name for family in openmetrics_families(response.content.decode())}
    assert "tocsin_incidents_open" in names


# --- who may read it --------------------------------------------------------------------


def status(*, addr: str = "127.0.0.1", **headers: str) -> int:
    return Client(REMOTE_ADDR=addr).get("/metrics", headers=headers).status_code


@pytest.mark.parametrize(
    ("addr", "expected"), [("127.0.0.1", 200), ("127.8.9.10", 200), ("::1", 200), ("10.0.0.5", 404)]
)
def test_by_default_only_loopback_may_scrape(addr: str, expected: int) -> None:
    assert status(addr=addr) == expected


def test_a_token_opens_it_from_anywhere_and_a_wrong_token_is_a_404(settings: Any) -> None:
    settings.TOCSIN_METRICS_TOKEN = "s3cret-scrape-token"
    assert status(addr="203.0.113.9", Authorization="Bearer s3cret-scrape-token") == 200
    assert status(addr="203.0.113.9", Authorization="bearer s3cret-scrape-token") == 200
    assert status(addr="203.0.113.9") == 404
    assert status(addr="203.0.113.9", Authorization="Bearer s3cret-scrape-toke") == 404
    assert status(addr="203.0.113.9", Authorization="Basic czNjcmV0") == 404
    # a request with a token is judged by the token alone, even from an allowed address
    assert status(addr="127.0.0.1", Authorization="Bearer wrong") == 404
    assert status(addr="127.0.0.1") == 200


def test_a_bearer_token_when_none_is_configured_is_refused(settings: Any) -> None:
    settings.TOCSIN_METRICS_TOKEN = ""
    assert status(addr="127.0.0.1", Authorization="Bearer ") == 404
    assert status(addr="127.0.0.1", Authorization="Bearer anything") == 404


def test_the_allow_list_names_networks(settings: Any) -> None:
    settings.TOCSIN_METRICS_ALLOW = prometheus_env.allow_list(["10.0.0.0/8", "192.0.2.7"])
    assert status(addr="10.20.30.40") == 200
    assert status(addr="192.0.2.7") == 200
    assert status(addr="192.0.2.8") == 404
    assert status(addr="127.0.0.1") == 404


def test_none_allows_no_address(settings: Any) -> None:
    settings.TOCSIN_METRICS_ALLOW = prometheus_env.allow_list(["none"])
    settings.TOCSIN_METRICS_TOKEN = "t0ken"
    assert status(addr="127.0.0.1") == 404
    assert status(addr="127.0.0.1", Authorization="Bearer t0ken") == 200


def test_a_local_reverse_proxy_does_not_make_every_client_loopback() -> None:
    # nginx on the same machine: REMOTE_ADDR is loopback, the client is in X-Forwarded-For
    assert status(addr="127.0.0.1", **{"X-Forwarded-For": "203.0.113.9"}) == 404
    assert status(addr="127.0.0.1", **{"X-Forwarded-For": "127.0.0.1"}) == 200
    # a client cannot claim loopback through the header: only a trusted proxy's is read
    assert status(addr="203.0.113.9", **{"X-Forwarded-For": "127.0.0.1"}) == 404


def test_a_refusal_looks_like_any_unknown_path() -> None:
    refused = Client(REMOTE_ADDR="10.0.0.5").get("/metrics")
    unknown = Client(REMOTE_ADDR="10.0.0.5").get("/no-such-page")
    assert refused.status_code == unknown.status_code == 404
    assert refused["Content-Type"] == unknown["Content-Type"]
    assert b"tocsin_" not in refused.content


def test_only_get_and_head(settings: Any) -> None:
    assert Client().head("/metrics").status_code == 200
    response = Client().post("/metrics")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    # a refused caller learns nothing from the method either
    assert Client(REMOTE_ADDR="10.0.0.5").post("/metrics").status_code == 404


def test_bad_allow_list_values_stop_the_start_with_the_variable_named() -> None:
    with pytest.raises(ConfigError, match=r"TOCSIN_METRICS_ALLOW: 'ten\.0\.0\.0/8'"):
        prometheus_env.allow_list(["ten.0.0.0/8"])
    assert prometheus_env.allow_list(["NONE"]) == []
    assert prometheus_env.allow_list(["10.1.2.3/8"]) == ["10.0.0.0/8"]


def test_reading_changes_nothing() -> None:
    client = Client()
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/metrics")
    assert response.status_code == 200
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert not response.cookies
    assert "no-cache" in response["Cache-Control"]


# --- the files ---------------------------------------------------------------------------


@pytest.fixture
def dead_pid() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    yield proc.pid


def test_cleaning_removes_only_the_files_of_processes_that_are_gone(dead_pid: int) -> None:
    folder = prometheus_env.directory("worker")
    gone = folder / f"histogram_{dead_pid}.db"
    gone_gauge = folder / f"gauge_livesum_{dead_pid}.db"
    mine = folder / f"counter_{os.getpid()}.db"
    other = folder / "notes.txt"
    created = [gone, gone_gauge, other] + ([] if mine.exists() else [mine])
    for path in created:
        path.write_bytes(b"")
    try:
        assert prometheus_env.clean("worker") >= 2
        assert not gone.exists()
        assert not gone_gauge.exists()
        assert mine.exists()
        assert other.exists()
    finally:
        for path in created:
            path.unlink(missing_ok=True)


def test_a_bad_allow_list_stops_a_command_with_one_line(tmp_path: Any) -> None:
    from tests.cli.conftest import tocsin

    result = tocsin(tmp_path, "check", env={"TOCSIN_METRICS_ALLOW": "10.0.0.0/8,ten.0.0.0/8"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "TOCSIN_METRICS_ALLOW" in result.stderr.strip().splitlines()[-1]


def test_an_unreadable_database_leaves_the_process_metrics(monkeypatch: Any) -> None:
    from django.db import DatabaseError

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseError("server closed the connection unexpectedly")

    run_tick([Slow()])
    monkeypatch.setattr(Incident.objects, "filter", broken)
    found = scrape()
    assert value(found, "tocsin_database_up") == 0
    assert not [name for name, _labels in found if name.startswith("tocsin_incidents_")]
    assert value(found, "tocsin_engine_module_duration_seconds_count", module=Slow.name) >= 1
