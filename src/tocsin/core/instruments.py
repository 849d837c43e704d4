"""The Prometheus counters and histograms that processes record (docs/prometheus.md).

Recorded where the work happens (ingest views, the engine's tick, the outbox) and
written to this process's files (tocsin.core.prometheus_env); `/metrics`
(tocsin.reports.prometheus) adds up every process's files and reads the gauges from the
database at scrape time. Every metric here has labels: a metric without labels would
create its file at import, in gunicorn's master before the fork.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# The settings set PROMETHEUS_MULTIPROC_DIR; prometheus_client picks its mode at import,
# so the settings are loaded first (reading one of them does it).
if not settings.PROMETHEUS_DIR:  # pragma: no cover
    raise ImproperlyConfigured("PROMETHEUS_DIR is not set")

from prometheus_client import Counter, Histogram

log = logging.getLogger(__name__)
P = ParamSpec("P")


def _never_raise(record: Callable[P, None]) -> Callable[P, None]:
    """Recording a metric never fails the work it measures (an accepted alert is still
    answered 2xx, an engine tick still runs): a failure to write is logged, once."""
    failed: list[bool] = []

    @functools.wraps(record)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            record(*args, **kwargs)
        except Exception:
            if not failed:
                failed.append(True)
                log.exception("could not record a Prometheus metric (%s)", record.__name__)

    return wrapper


INGEST_ACCEPTED = Counter(
    "tocsin_ingest_requests_accepted_total",
    "Ingest requests accepted (committed to the inbox), by integration kind.",
    ["integration"],
)
INGEST_EVENTS = Counter(
    "tocsin_ingest_events_accepted_total",
    "Events carried by accepted ingest requests (an Alertmanager group carries several), "
    "by integration kind.",
    ["integration"],
)
ENGINE_MODULE_SECONDS = Histogram(
    "tocsin_engine_module_duration_seconds",
    "Wall time of one engine module's turn in a tick, by module.",
    ["module"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ENGINE_MODULE_FAILURES = Counter(
    "tocsin_engine_module_failures_total",
    "Engine module turns that raised (logged; retried on the next tick), by module.",
    ["module"],
)
DELIVERY_SECONDS = Histogram(
    "tocsin_delivery_latency_seconds",
    "Seconds from a message being queued in the outbox to the provider accepting it, by channel.",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
DELIVERY_RETRIES = Counter(
    "tocsin_delivery_retries_total",
    "Delivery attempts that failed and will be retried, by channel.",
    ["channel"],
)
DELIVERY_FAILURES = Counter(
    "tocsin_delivery_failures_total",
    "Messages that failed for good (no attempt left, or a permanent error), by channel.",
    ["channel"],
)


# The ingest path's children by integration kind: `.labels()` costs as much as `.inc()`.
_ingest_children: dict[str, tuple[Any, Any]] = {}


@_never_raise
def ingest_accepted(integration: str, events: int) -> None:
    """One accepted request (a few microseconds: docs/prometheus.md, "Cost")."""
    children = _ingest_children.get(integration)
    if children is None:
        children = (INGEST_ACCEPTED.labels(integration), INGEST_EVENTS.labels(integration))
        _ingest_children[integration] = children
    children[0].inc()
    if events:
        children[1].inc(events)


@_never_raise
def engine_module_turn(module: str, seconds: float, *, failed: bool) -> None:
    ENGINE_MODULE_SECONDS.labels(module).observe(seconds)
    if failed:
        ENGINE_MODULE_FAILURES.labels(module).inc()


@_never_raise
def delivery_outcome(channel: str, outcome: str, seconds: float) -> None:
    """`outcome` as the outbox records it: sent, retry or failed."""
    if outcome == "sent":
        DELIVERY_SECONDS.labels(channel).observe(max(seconds, 0.0))
    elif outcome == "retry":
        DELIVERY_RETRIES.labels(channel).inc()
    else:
        DELIVERY_FAILURES.labels(channel).inc()
