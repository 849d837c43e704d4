"""`GET /metrics`: Prometheus text for a scraper with the token or an allowed address.

What it serves (docs/prometheus.md):
- the counters and histograms every process recorded (tocsin.core.instruments), added
  up across gunicorn's workers and the engine's worker from their files
  (tocsin.core.prometheus_env);
- gauges read from the database at scrape time, each one indexed count: open incidents
  by priority, open incidents whose SLA target is breached, the inbox's depth and the
  age of its oldest pending request.

Who gets it: a request with `Authorization: Bearer <TOCSIN_METRICS_TOKEN>` (compared in
constant time), or one without an Authorization header from an address in
TOCSIN_METRICS_ALLOW (loopback by default; the client's address as
tocsin.core.actors.client_ip sees it, so a local reverse proxy that sets
X-Forwarded-For does not make the world loopback). Everyone else gets 404, a wrong
token too: the answer does not tell a scanner that /metrics exists. Reading changes
nothing (no session, no cookie, no write).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError, InterfaceError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from tocsin.alerts.models import InboxEvent, InboxState
from tocsin.core import prometheus_env
from tocsin.core.actors import client_ip
from tocsin.core.clock import now
from tocsin.incidents.models import OPEN_STATUSES, Incident, Priority

log = logging.getLogger(__name__)

PRIORITIES = [f"P{value}" for value in Priority.values]


class ProcessFiles:
    """Every process's counters and histograms, added up (web and worker files)."""

    def collect(self) -> Iterator[Metric]:
        for _attempt in range(3):
            try:
                metrics = MultiProcessCollector.merge(prometheus_env.files(), accumulate=True)
            except FileNotFoundError:  # removed between the listing and the read
                continue
            yield from metrics
            return


class DatabaseGauges:
    """Gauges read from the database at scrape time (cheap, indexed counts)."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "tocsin_database_up",
            "1 when /metrics could read the database for this scrape, else 0 (the "
            "gauges read from it are then missing).",
        )
        try:
            families = list(self._read())
        except (DatabaseError, InterfaceError):
            log.warning("/metrics: the database could not be read", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> Iterator[Metric]:
        rows = (
            Incident.objects.filter(status__in=OPEN_STATUSES)
            .values("priority")
            .annotate(
                open=Count("pk"),
                response=Count("pk", filter=Q(response_breached_at__isnull=False)),
                resolution=Count("pk", filter=Q(resolution_breached_at__isnull=False)),
            )
            .order_by()
        )
        by_priority = {f"P{row['priority']}": row for row in rows}
        opened = GaugeMetricFamily(
            "tocsin_incidents_open",
            "Open incidents (new, acknowledged, in progress, on hold), by priority.",
            labels=["priority"],
        )
        breached = GaugeMetricFamily(
            "tocsin_incidents_sla_breached",
            "Open incidents whose SLA target (response or resolution) is breached, "
            "by priority and target.",
            labels=["priority", "target"],
        )
        for priority in PRIORITIES:
            row = by_priority.get(priority, {})
            opened.add_metric([priority], row.get("open", 0))
            for target in ("response", "resolution"):
                breached.add_metric([priority, target], row.get(target, 0))
        yield opened
        yield breached

        pending = InboxEvent.objects.filter(state=InboxState.PENDING)
        depth = GaugeMetricFamily(
            "tocsin_inbox_pending",
            "Accepted ingest requests waiting in the inbox for the engine.",
        )
        depth.add_metric([], pending.count())
        yield depth
        oldest = pending.order_by("id").values_list("received_at", flat=True).first()
        age = GaugeMetricFamily(
            "tocsin_inbox_oldest_pending_age_seconds",
            "Seconds since the oldest pending inbox request was accepted (0 when none).",
        )
        age.add_metric([], max((now() - oldest).total_seconds(), 0.0) if oldest else 0.0)
        yield age


def _token_ok(request: HttpRequest) -> bool | None:
    """True or False for a request with a bearer token, None for one without."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    scheme, _, given = header.partition(" ")
    expected = settings.TOCSIN_METRICS_TOKEN
    if scheme.lower() != "bearer" or not expected:
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def _address_ok(request: HttpRequest) -> bool:
    address = client_ip(request)
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net) for net in settings.TOCSIN_METRICS_ALLOW)


def scrape_allowed(request: HttpRequest) -> bool:
    """A request with a token is judged by the token alone; one without, by its address."""
    token = _token_ok(request)
    return token if token is not None else _address_ok(request)


@csrf_exempt
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not scrape_allowed(request):
        log.info("/metrics refused to %s (no valid token, address not allowed)", client_ip(request))
        raise Http404
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD"
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProcessFiles())
    registry.register(DatabaseGauges())
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry), content_type=content_type)
