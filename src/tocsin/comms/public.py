"""The public status page: what the public may see, rendered once per change, served from
a cache (docs/status-page.md).

`snapshot()` is the one place that reads the status-page tables for the public: published
public incidents and their updates, published maintenances, showcased components and
their status history. Nothing here reads an internal incident: a `PublicIncident` is
written separately from the internal record, and its link to incidents is never followed.

Every public document (the page, each JSON document, the feeds, an incident's page) is
rendered from a snapshot and stored as bytes in a `PublicRender` row keyed by the
document and `StatusPage.revision`, which every public change bumps (`status_changed()`).
A document that also depends on the clock (the day of the uptime bars and of "past
incidents", a maintenance that starts or ends at a given time) carries `valid_until`, the
next moment it would read differently. A request costs one query for the revision and, in
a process that has not served this revision yet, one for the row; every web process (and
machine) shares the rows, so a change is rendered once, not once per process.

Why a row rather than Django's cache: the default installation has no cache server, and
Django's local-memory cache is per process; a database row is shared by every process on
every machine, survives restarts, and costs a primary-key look-up in a table that the
incident tables never lock. Each process also keeps the rows it served in memory, checked
against the revision on every request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import hashlib
import threading
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.http import http_date, parse_http_date_safe
from django.utils.safestring import SafeString, mark_safe

from tocsin.comms.models import (
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    MaintenanceStatus,
    PublicIncident,
    PublicIncidentStatus,
    PublicMaintenance,
    PublicRender,
    PublicUpdate,
    StatusPage,
)
from tocsin.comms.services import status_page
from tocsin.core.clock import now

UPTIME_DAYS = 90
PAST_DAYS = 14
LIST_LIMIT = 50  # incidents.json, scheduled-maintenances.json, the feeds (as Statuspage)
MAX_AGE = 30  # seconds a browser or proxy may keep a document without asking
MEMORY_ENTRIES = 256
# How long a process trusts the revision it last read before reading it again: a change
# shows within this (and a reader's max-age) everywhere, and a burst of readers costs no
# query at all. Tests set it to 0.
# None: 1 s, and 0 under Django's test environment (tests change the page and read it
# back at once).
REVISION_TTL: float | None = None

# Severity, least to worst: the worst status of a day, of a group, of the page.
SEVERITY = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.MAINTENANCE: 1,
    ComponentStatus.DEGRADED: 2,
    ComponentStatus.PARTIAL: 3,
    ComponentStatus.MAJOR: 4,
}
# Downtime weight of a status, as Statuspage counts uptime: a major outage is down time,
# a partial outage 30 % of it; degraded performance and maintenance are up.
DOWNTIME = {ComponentStatus.MAJOR: 1.0, ComponentStatus.PARTIAL: 0.3}
STATUS_LABEL = dict(ComponentStatus.choices)
# The uptime bars' class per worst status (short: a page has 90 per component).
DAY_CLASS: dict[str, str] = {
    ComponentStatus.OPERATIONAL: "0",
    ComponentStatus.MAINTENANCE: "m",
    ComponentStatus.DEGRADED: "1",
    ComponentStatus.PARTIAL: "2",
    ComponentStatus.MAJOR: "3",
}
# A text symbol per status (the colour is never the only sign): shown beside the label.
STATUS_ICON = {
    ComponentStatus.OPERATIONAL: "✓",
    ComponentStatus.MAINTENANCE: "⚙",
    ComponentStatus.DEGRADED: "!",
    ComponentStatus.PARTIAL: "▲",
    ComponentStatus.MAJOR: "✕",
}


# --- the snapshot: everything public, read once per render ----------------------------------


@dataclass
class UptimeDay:
    date: dt.date
    worst: str  # a ComponentStatus value, or "" before the component existed
    percent: float | None  # None: no data

    @property
    def label(self) -> str:
        if self.percent is None:
            return f"{self.date:%-d %b %Y}: no data"
        worst_label = STATUS_LABEL.get(self.worst, self.worst)
        return f"{self.date:%-d %b %Y}: {format_percent(self.percent)} up, {worst_label}"


@dataclass
class ComponentView:
    obj: Component
    status: str
    uptime: list[UptimeDay] = field(default_factory=list)
    uptime_percent: float | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABEL.get(self.status, self.status)

    @property
    def icon(self) -> str:
        return STATUS_ICON.get(self.status, "?")  # type: ignore[call-overload]

    @property
    def bars_html(self) -> SafeString:
        """The 90 bars, built here rather than in the template (18,000 of them on a page of
        200 components): our own words and figures only, escaped all the same."""
        return mark_safe(  # noqa: S308 - no user text; every label is escaped
            "".join(
                f'<li class="sp-d sp-d{DAY_CLASS.get(d.worst, "n")}">'
                f"<span>{escape(d.label)}</span></li>"
                for d in self.uptime
            )
        )

    @property
    def uptime_text(self) -> str:
        if self.uptime_percent is None:
            return "no data"
        return f"{format_percent(self.uptime_percent)} uptime"


@dataclass
class GroupView:
    group: ComponentGroup | None
    components: list[ComponentView]

    @property
    def status(self) -> str:
        return worst(c.status for c in self.components)


@dataclass
class EventView:
    """A published public incident or a maintenance, with its public updates (newest first)."""

    obj: PublicIncident | PublicMaintenance
    kind: str  # "incident" or "maintenance"
    status: str
    updates: list[PublicUpdate]
    components: list[Component]

    @property
    def id(self) -> int:
        return int(self.obj.pk)

    @property
    def status_label(self) -> str:
        return self.status.replace("_", " ").capitalize()


@dataclass
class Snapshot:
    page: StatusPage
    at: dt.datetime
    zone: dt.tzinfo
    valid_until: dt.datetime
    groups: list[GroupView]
    components: list[ComponentView]  # showcased, in page order
    component_groups: list[ComponentGroup]
    incidents: list[EventView]  # published, newest first (at most LIST_LIMIT)
    maintenances: list[EventView]  # published, newest first (at most LIST_LIMIT)

    @property
    def unresolved(self) -> list[EventView]:
        return [e for e in self.incidents if e.status != PublicIncidentStatus.RESOLVED]

    @property
    def past(self) -> list[EventView]:
        since = self.at - dt.timedelta(days=PAST_DAYS)
        return [
            e
            for e in self.incidents
            if e.status == PublicIncidentStatus.RESOLVED
            and (getattr(e.obj, "resolved_at", None) or e.obj.updated_at) >= since
        ]

    @property
    def upcoming(self) -> list[EventView]:
        return sorted(
            (m for m in self.maintenances if m.status == MaintenanceStatus.SCHEDULED),
            key=lambda m: m.obj.scheduled_for,  # type: ignore[union-attr]
        )

    @property
    def active(self) -> list[EventView]:
        return [
            m
            for m in self.maintenances
            if m.status in (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
        ]

    @property
    def overall(self) -> tuple[str, str]:
        return overall_status(self)


def worst(statuses: Any) -> str:
    found = ComponentStatus.OPERATIONAL.value
    for status in statuses:
        if SEVERITY.get(status, 0) > SEVERITY.get(found, 0):  # type: ignore[call-overload]
            found = status
    return found


def format_percent(value: float) -> str:
    """99.95 %, 100 %, 97.1 %: two decimals at most, never rounded up to 100."""
    if value >= 100:
        return "100 %"
    text = f"{int(value * 100) / 100:.2f}".rstrip("0").rstrip(".")
    return f"{text} %"


def maintenance_status(m: PublicMaintenance, at: dt.datetime) -> str:
    """A maintenance's status follows the clock (scheduled → in progress → completed)
    unless staff set verifying or completed."""
    if m.status in (MaintenanceStatus.COMPLETED, MaintenanceStatus.VERIFYING):
        return m.status
    if at >= m.scheduled_until:
        return MaintenanceStatus.COMPLETED.value
    if at >= m.scheduled_for or m.status == MaintenanceStatus.IN_PROGRESS:
        return MaintenanceStatus.IN_PROGRESS.value
    return MaintenanceStatus.SCHEDULED.value


# (indicator, description) as Statuspage words them
INDICATOR_DESCRIPTION = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major Service Outage",
}
_INDICATOR_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
_STATUS_INDICATOR = {
    ComponentStatus.DEGRADED: "minor",
    ComponentStatus.PARTIAL: "major",
    ComponentStatus.MAJOR: "critical",
}


def overall_status(snap: Snapshot) -> tuple[str, str]:
    """Statuspage's `status`: the worst of the components' statuses and the unresolved
    incidents' impacts. Maintenance alone is `minor`, "Service Under Maintenance"."""
    indicator = "none"
    for c in snap.components:
        level = _STATUS_INDICATOR.get(c.status, "none")  # type: ignore[call-overload]
        if _INDICATOR_RANK[level] > _INDICATOR_RANK[indicator]:
            indicator = level
    for e in snap.unresolved:
        impact = getattr(e.obj, "impact", "none")
        if _INDICATOR_RANK.get(impact, 0) > _INDICATOR_RANK[indicator]:
            indicator = impact
    if indicator == "none" and (
        snap.active or any(c.status == ComponentStatus.MAINTENANCE for c in snap.components)
    ):
        return "minor", "Service Under Maintenance"
    return indicator, INDICATOR_DESCRIPTION[indicator]


def page_zone(page: StatusPage) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(page.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _day_start(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def _uptime(components: list[ComponentView], at: dt.datetime, zone: dt.tzinfo) -> None:
    """Daily bars of the last UPTIME_DAYS days (in the page's zone) from the status
    history: per day the worst status and the share of time up; over all days the
    uptime that the page prints ("99.95 % uptime")."""
    today = at.astimezone(zone).date()
    days = [today - dt.timedelta(days=n) for n in range(UPTIME_DAYS - 1, -1, -1)]
    start = _day_start(days[0], zone)
    ids = [c.obj.pk for c in components]
    before = dict(
        Component.objects.filter(pk__in=ids)
        .annotate(
            initial=Subquery(
                ComponentStatusChange.objects.filter(component=OuterRef("pk"), at__lt=start)
                .order_by("-at", "-id")
                .values("status")[:1]
            )
        )
        .values_list("pk", "initial")
    )
    changes: dict[int, list[tuple[dt.datetime, str]]] = {}
    for cid, status, when in (
        ComponentStatusChange.objects.filter(component_id__in=ids, at__gte=start, at__lte=at)
        .order_by("at", "id")
        .values_list("component_id", "status", "at")
    ):
        changes.setdefault(cid, []).append((when, status))
    bounds = [(_day_start(d, zone), _day_start(d + dt.timedelta(days=1), zone)) for d in days]
    for view in components:
        comp = view.obj
        history = changes.get(comp.pk, [])
        born = min(comp.created_at, history[0][0]) if history else comp.created_at
        initial = before.get(comp.pk)
        if initial is None:
            # no change before the window: the status it started with, from its creation
            initial = history[0][1] if history and history[0][0] <= born else None
        segments: list[tuple[dt.datetime, dt.datetime, str]] = []
        current = initial or ComponentStatus.OPERATIONAL.value
        cursor = max(start, born) if before.get(comp.pk) is None else start
        for when, status in history:
            if when > cursor:
                segments.append((cursor, when, current))
                cursor = when
            current = status
        if at > cursor:
            segments.append((cursor, at, current))
        total = down = 0.0
        for (lo, hi), day in zip(bounds, days, strict=True):
            hi = min(hi, at)
            span = 0.0
            lost = 0.0
            seen: list[str] = []
            for s_lo, s_hi, status in segments:
                a, b = max(lo, s_lo), min(hi, s_hi)
                if b > a:
                    seconds = (b - a).total_seconds()
                    span += seconds
                    lost += seconds * DOWNTIME.get(status, 0.0)  # type: ignore[call-overload]
                    seen.append(status)
            if span <= 0:
                view.uptime.append(UptimeDay(day, "", None))
                continue
            total += span
            down += lost
            view.uptime.append(UptimeDay(day, worst(seen), 100.0 * (span - lost) / span))
        view.uptime_percent = 100.0 * (total - down) / total if total else None


def _next_boundary(
    at: dt.datetime, zone: dt.tzinfo, maints: list[PublicMaintenance]
) -> dt.datetime:
    tomorrow = at.astimezone(zone).date() + dt.timedelta(days=1)
    until = _day_start(tomorrow, zone)
    for m in maints:
        if m.status in (MaintenanceStatus.COMPLETED, MaintenanceStatus.VERIFYING):
            continue
        for moment in (m.scheduled_for, m.scheduled_until):
            if at < moment < until:
                until = moment
    return until


def page_order(c: Component) -> tuple[int, str, int, int, str]:
    """Groups and ungrouped components by their positions; a group's members together."""
    if c.group is not None:
        return (c.group.position, c.group.name, c.group.pk, c.position, c.name)
    return (c.position, c.name, 0, 0, "")


def snapshot(at: dt.datetime | None = None) -> Snapshot:
    at = at or now()
    page = status_page()
    zone = page_zone(page)
    comps = sorted(
        Component.objects.filter(archived_at__isnull=True, showcase=True).select_related("group"),
        key=page_order,
    )
    views = [ComponentView(obj=c, status=c.status) for c in comps]
    _uptime(views, at, zone)
    shown = [
        v
        for v in views
        if not (v.obj.only_show_if_degraded and v.status == ComponentStatus.OPERATIONAL)
    ]
    groups: list[GroupView] = []
    for v in shown:
        if groups and groups[-1].group == v.obj.group:
            groups[-1].components.append(v)
        else:
            groups.append(GroupView(group=v.obj.group, components=[v]))
    public_components = Prefetch(
        "components",
        queryset=Component.objects.filter(archived_at__isnull=True, showcase=True).order_by(
            "position", "name"
        ),
    )

    def updates() -> Prefetch:
        return Prefetch("updates", queryset=PublicUpdate.objects.order_by("-created_at", "-id"))

    # the latest LIST_LIMIT, and every one still open however old (summary.json, the page)
    published = PublicIncident.objects.filter(published_at__isnull=False).prefetch_related(
        updates(), public_components
    )
    incidents = list(published.order_by("-published_at", "-id")[:LIST_LIMIT])
    incidents += published.exclude(status=PublicIncidentStatus.RESOLVED).exclude(
        pk__in=[i.pk for i in incidents]
    )
    incidents.sort(key=lambda i: (i.published_at, i.pk), reverse=True)
    planned = PublicMaintenance.objects.filter(published_at__isnull=False).prefetch_related(
        updates(), public_components
    )
    maints = list(planned.order_by("-scheduled_for", "-id")[:LIST_LIMIT])
    maints += (
        planned.exclude(status=MaintenanceStatus.COMPLETED)
        .exclude(scheduled_until__lte=at)
        .exclude(pk__in=[m.pk for m in maints])
    )
    maints.sort(key=lambda m: (m.scheduled_for, m.pk), reverse=True)
    return Snapshot(
        page=page,
        at=at,
        zone=zone,
        valid_until=_next_boundary(at, zone, maints),
        groups=groups,
        components=shown,
        component_groups=list(ComponentGroup.objects.filter(components__in=comps).distinct()),
        incidents=[
            EventView(i, "incident", i.status, list(i.updates.all()), list(i.components.all()))
            for i in incidents
        ],
        maintenances=[
            EventView(
                m,
                "maintenance",
                maintenance_status(m, at),
                list(m.updates.all()),
                list(m.components.all()),
            )
            for m in maints
        ],
    )


def base_url() -> str:
    """Absolute links in cached documents come from TOCSIN_BASE_URL, never from the
    request's Host header (a cached document is shared by every reader)."""
    return str(settings.BASE_URL).rstrip("/")


# --- documents -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    status: int = 200


Renderer = Callable[[Snapshot, str], Rendered]
HTML = "text/html; charset=utf-8"


def _html(template: str, context: dict[str, Any]) -> Rendered:
    return Rendered(render_to_string(template, context).encode(), HTML)


def render_page(snap: Snapshot, arg: str) -> Rendered:
    indicator, description = snap.overall
    return _html(
        "comms/public_page.html",
        {
            "snap": snap,
            "page": snap.page,
            "indicator": indicator,
            "description": description,
            "zone": snap.zone,
            "base_url": base_url(),
        },
    )


def render_incident(snap: Snapshot, arg: str) -> Rendered:
    event = next((e for e in snap.incidents if str(e.id) == arg), None)
    if event is None:
        found = (
            PublicIncident.objects.filter(pk=int(arg), published_at__isnull=False)
            .prefetch_related(
                Prefetch("updates", queryset=PublicUpdate.objects.order_by("-created_at", "-id")),
                "components",
            )
            .first()
        )
        if found is None:
            raise Http404("No such incident")
        event = EventView(
            found,
            "incident",
            found.status,
            list(found.updates.all()),
            [c for c in found.components.all() if c.archived_at is None and c.showcase],
        )
    return _html(
        "comms/public_incident.html",
        {"snap": snap, "page": snap.page, "event": event, "zone": snap.zone},
    )


def render_brand_css(snap: Snapshot, arg: str) -> Rendered:
    return Rendered(brand_css(snap.page.brand_colour).encode(), "text/css; charset=utf-8")


def documents() -> dict[str, Renderer]:
    from tocsin.comms import feeds, statuspage_json

    found: dict[str, Renderer] = {
        "page": render_page,
        "incident": render_incident,
        "brand.css": render_brand_css,
        "feed.atom": feeds.render_atom,
        "feed.rss": feeds.render_rss,
    }
    found.update(statuspage_json.DOCUMENTS)
    return found


# --- the cache -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    revision: int
    changed_at: dt.datetime  # the StatusPage.changed_at of that revision
    valid_until: dt.datetime
    rendered_at: dt.datetime
    content_type: str
    status: int
    etag: str
    body: bytes
    gzipped: bytes = b""

    def with_gzip(self) -> Entry:
        """The same, with its gzip form (compressed once per process and revision: the
        page of a big installation is mostly repeated bar markup)."""
        packed = gzip.compress(self.body, compresslevel=6, mtime=0)
        return dataclasses.replace(self, gzipped=packed)


_memory: dict[str, Entry] = {}
_memory_lock = threading.Lock()
_snapshot_memo: dict[str, Any] = {}


def _remember(key: str, entry: Entry) -> None:
    with _memory_lock:
        if len(_memory) >= MEMORY_ENTRIES and key not in _memory:
            _memory.clear()
        _memory[key] = entry


_revision_seen: list[tuple[float, int, dt.datetime]] = []  # (monotonic time read, …)


def forget() -> None:
    """Drop this process's copies (tests; the rows stay)."""
    with _memory_lock:
        _memory.clear()
        _revision_seen.clear()
    _snapshot_memo.clear()


def _ttl() -> float:
    if REVISION_TTL is not None:
        return REVISION_TTL
    return 0.0 if hasattr(mail, "outbox") else 1.0  # Django's test environment sets it


def current_revision() -> tuple[int, dt.datetime]:
    """The revision of what the public sees and when it changed: read from the database
    at most every REVISION_TTL seconds per process. A copy is used only for the same
    revision *and* the same `changed_at` (so never one of an earlier life of the database,
    e.g. a test's, whose counter started again)."""
    clock = time.monotonic()
    if _revision_seen and clock - _revision_seen[0][0] < _ttl():
        return _revision_seen[0][1], _revision_seen[0][2]
    row = StatusPage.objects.filter(pk=1).values_list("revision", "changed_at").first()
    if row is None:
        page = status_page()
        row = (page.revision, page.changed_at)
    with _memory_lock:
        _revision_seen[:] = [(clock, int(row[0]), row[1])]
    return int(row[0]), row[1]


def _snapshot_for(revision: int, changed_at: dt.datetime, at: dt.datetime) -> Snapshot:
    memo = _snapshot_memo.get("snap")
    if (
        memo is not None
        and _snapshot_memo.get("version") == (revision, changed_at)
        and memo.at <= at < memo.valid_until
    ):
        return memo
    snap = snapshot(at)
    _snapshot_memo.update(snap=snap, version=(revision, changed_at))
    return snap


def _render(
    key: str, name: str, arg: str, revision: int, changed_at: dt.datetime, at: dt.datetime
) -> Entry:
    snap = _snapshot_for(revision, changed_at, at)
    out = documents()[name](snap, arg)
    entry = Entry(
        revision=revision,
        changed_at=changed_at,
        valid_until=snap.valid_until,
        rendered_at=at,
        content_type=out.content_type,
        status=out.status,
        etag='"' + hashlib.sha256(out.body).hexdigest()[:32] + '"',
        body=out.body,
    )
    fields = {
        "revision": revision,
        "page_changed_at": changed_at,
        "valid_until": entry.valid_until,
        "rendered_at": entry.rendered_at,
        "content_type": entry.content_type,
        "status": entry.status,
        "etag": entry.etag,
        "body": entry.body,
    }
    try:
        with transaction.atomic():
            updated = PublicRender.objects.filter(key=key).update(**fields)
            if not updated:
                PublicRender.objects.create(key=key, **fields)
    except IntegrityError:  # another process stored it at the same moment
        PublicRender.objects.filter(key=key).update(**fields)
    return entry


def cached(name: str, arg: str = "") -> Entry:
    """The rendered document `name` (with `arg`, e.g. an incident id) for the current
    revision: from this process's memory, else the shared row, else rendered now."""
    key = f"{name}:{arg}" if arg else name
    at = now()
    revision, changed_at = current_revision()
    entry = _memory.get(key)
    if (
        entry is not None
        and entry.revision == revision
        and entry.changed_at == changed_at
        and at < entry.valid_until
    ):
        return entry
    row = (
        PublicRender.objects.filter(
            key=key, revision=revision, page_changed_at=changed_at, valid_until__gt=at
        )
        .values_list("valid_until", "rendered_at", "content_type", "status", "etag", "body")
        .first()
    )
    if row is not None:
        entry = Entry(revision, changed_at, row[0], row[1], row[2], row[3], row[4], bytes(row[5]))
    else:
        entry = _render(key, name, arg, revision, changed_at, at)
    entry = entry.with_gzip()
    _remember(key, entry)
    return entry


def peek(key: str) -> Entry | None:
    """This process's copy of the document `key` if it is still current (same revision,
    not expired), else None; never renders (the prepared-reply layer, public_wsgi.py)."""
    entry = _memory.get(key)
    if entry is None:
        return None
    revision, changed_at = current_revision()
    if entry.revision != revision or entry.changed_at != changed_at or now() >= entry.valid_until:
        return None
    return entry


# What `serve` answered last in this thread: (document key, entry, gzipped) of a full 200
# reply or a 304 to a GET, for the prepared-reply layer to keep (public_wsgi.py); None for
# anything else.
_served = threading.local()


def served_take() -> tuple[str, Entry, bool] | None:
    found: tuple[str, Entry, bool] | None = getattr(_served, "value", None)
    _served.value = None
    return found


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (weakly compared, as for a GET)."""
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return etag in tags or "*" in tags


def serve(request: HttpRequest, name: str, arg: str = "") -> HttpResponse:
    """A cached document with ETag, Last-Modified and Cache-Control, gzipped for readers
    that accept it; 304 when the reader's copy is current (If-None-Match first, else
    If-Modified-Since)."""
    entry = cached(name, arg)
    last_modified = int(entry.rendered_at.timestamp())
    packed = "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", "") and bool(entry.gzipped)
    etag = entry.etag[:-1] + '-gz"' if packed else entry.etag
    if entry.status == 200:
        match = request.META.get("HTTP_IF_NONE_MATCH")
        since = request.META.get("HTTP_IF_MODIFIED_SINCE")
        fresh = False
        if match is not None:
            fresh = etag_matches(match, etag)
        elif since is not None:
            parsed = parse_http_date_safe(since)
            fresh = parsed is not None and last_modified <= parsed
        if fresh:
            if request.method == "GET" and match is not None:
                _served.value = (f"{name}:{arg}" if arg else name, entry, packed)
            response: HttpResponse = HttpResponseNotModified()
            _headers(response, entry, etag, last_modified)
            return response
    body = entry.gzipped if packed else entry.body
    if request.method == "GET" and entry.status == 200:
        _served.value = (f"{name}:{arg}" if arg else name, entry, packed)
    response = HttpResponse(
        b"" if request.method == "HEAD" else body,
        content_type=entry.content_type,
        status=entry.status,
    )
    if packed:
        response["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        response["Content-Length"] = str(len(body))
    _headers(response, entry, etag, last_modified)
    return response


def _headers(response: HttpResponse, entry: Entry, etag: str, last_modified: int) -> None:
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response["Vary"] = "Accept-Encoding"
    if entry.content_type.startswith("application/json"):
        # Statuspage's JSON is read by dashboards on other origins
        response["Access-Control-Allow-Origin"] = "*"


# --- branding ------------------------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _valid_colour(value: str) -> str:
    value = (value or "").strip().lower()
    if len(value) == 7 and value[0] == "#" and all(c in "0123456789abcdef" for c in value[1:]):
        return value
    return "#1f4e8c"


def brand_colours(colour: str) -> tuple[str, str]:
    """(background, text) for the page's header: the administrator's colour with white or
    near-black text, whichever contrasts more; darkened step by step when neither reaches
    WCAG 2.2 AA's 4.5:1 (so any colour an administrator picks stays readable)."""
    bg = _valid_colour(colour)
    for _ in range(40):
        text = max(("#ffffff", "#111111"), key=lambda t: contrast(bg, t))
        if contrast(bg, text) >= 4.5:
            return bg, text
        r, g, b = (int(bg[i : i + 2], 16) for i in (1, 3, 5))
        bg = f"#{int(r * 0.9):02x}{int(g * 0.9):02x}{int(b * 0.9):02x}"
    return "#1f4e8c", "#ffffff"


def brand_css(colour: str) -> str:
    bg, text = brand_colours(colour)
    return f":root {{ --sp-brand: {bg}; --sp-on-brand: {text}; }}\n"
