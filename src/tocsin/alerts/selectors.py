"""Reads for alerts: lists for the API and the UI, and what the engine modules look up."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Model, Q, QuerySet

from tocsin.alerts.models import (
    Alert,
    AlertStatus,
    AlertStorm,
    ChangeEvent,
    Heartbeat,
    InboxEvent,
    InboxState,
    MaintenanceWindow,
    Silence,
)
from tocsin.catalog.models import Integration, Service
from tocsin.incidents.models import OPEN_STATUSES, Incident

# --- lists (staff only: the API and the views gate access before calling these) ------


def alert_list(
    *,
    service: Service | None = None,
    status: str | None = None,
    integration: Integration | None = None,
    incident: Incident | None = None,
) -> QuerySet[Alert]:
    """Alerts, newest activity first, filtered by service, status, integration, incident."""
    qs = Alert.objects.select_related("integration", "service", "incident")
    if service is not None:
        qs = qs.filter(service=service)
    if status:
        qs = qs.filter(status=status)
    if integration is not None:
        qs = qs.filter(integration=integration)
    if incident is not None:
        qs = qs.filter(incident=incident)
    return qs.order_by("-last_seen_at", "-id")


def alerts_of_incident(incident: Incident) -> QuerySet[Alert]:
    return alert_list(incident=incident).order_by("first_seen_at", "id")


def change_events_of_service(service: Service, *, limit: int = 50) -> list[ChangeEvent]:
    return list(ChangeEvent.objects.filter(service=service).order_by("-timestamp", "-id")[:limit])


def inbox_event_outcome(pk: int) -> InboxEvent | None:
    """One inbox row with its outcome (what happened to an accepted request)."""
    return InboxEvent.objects.filter(pk=pk).first()


# --- what the engine looks up -----------------------------------------------------------


def inbox_pending_by_service(*, limit: int) -> dict[int, list[int]]:
    """The first `limit` pending inbox rows in arrival (id) order, by the service of
    their integration: {service id: [row ids in order]}, services in the order of their
    oldest pending row."""
    found: dict[int, list[int]] = {}
    rows = (
        InboxEvent.objects.filter(state=InboxState.PENDING)
        .order_by("id")
        .values_list("pk", "integration__service_id")[:limit]
    )
    for pk, service_id in rows:
        found.setdefault(service_id, []).append(pk)
    return found


def inbox_has_pending_ping(integration_id: int) -> bool:
    return InboxEvent.objects.filter(
        state=InboxState.PENDING, integration_id=integration_id, kind="heartbeat"
    ).exists()


def open_alerts_by_key(integration_id: int, keys: list[str]) -> dict[str, Alert]:
    """The open (not resolved) alert of each dedup key on this integration, with its
    incident: what `Alert.objects.filter(integration_id=..., dedup_key__in=keys)
    .exclude(status=RESOLVED).select_related("incident")` gives, through one prepared
    statement (the drain asks this once per inbox row, for up to hundreds of keys)."""
    unique = list(dict.fromkeys(keys))
    if not unique:
        return {}
    db = connections[router.db_for_read(Alert)]
    statement = _prepared(db, _OpenAlertsByKey)
    found: dict[str, Alert] = {}
    for start in range(0, len(unique), KEYS_PER_QUERY):
        for alert in statement.run(db, integration_id, unique[start : start + KEYS_PER_QUERY]):
            found[alert.dedup_key] = alert
    return found


KEYS_PER_QUERY = 500  # parameters per statement stay far below every backend's limit


class _Columns:
    """A model's concrete columns in a prepared SELECT, with their value converters
    (as the ORM's compiler applies them), and the instance from a row's values."""

    def __init__(self, model: type[Model], alias: str, db: BaseDatabaseWrapper) -> None:
        quote = db.ops.quote_name
        fields = list(model._meta.concrete_fields)
        self.model = model
        self.names = [f.attname for f in fields]
        self.sql = [f"{alias}.{quote(f.column)}" for f in fields]
        self.converters: list[tuple[int, list[Any], Any]] = []
        for index, f in enumerate(fields):
            col = f.get_col(alias)
            found = db.ops.get_db_converters(col) + col.get_db_converters(db)
            if found:
                self.converters.append((index, found, col))

    def instance(self, db: BaseDatabaseWrapper, values: list[Any]) -> Model:
        for index, converters, col in self.converters:
            value = values[index]
            for converter in converters:
                value = converter(value, col, db)
            values[index] = value
        return self.model.from_db(db.alias, self.names, values)


class _OpenAlertsByKey:
    def __init__(self, db: BaseDatabaseWrapper) -> None:
        quote = db.ops.quote_name
        self.vendor = db.vendor
        self.alert = _Columns(Alert, "a", db)
        self.incident = _Columns(Incident, "i", db)
        self.width = len(self.alert.names)
        self.incident_pk = self.width + self.incident.names.index(Incident._meta.pk.attname)  # type: ignore[union-attr]
        self.incident_field = Alert._meta.get_field("incident")
        column = Alert._meta.get_field
        self.head = (
            f"SELECT {', '.join(self.alert.sql + self.incident.sql)} "  # noqa: S608 - quoted metadata
            f"FROM {quote(Alert._meta.db_table)} a "
            f"LEFT OUTER JOIN {quote(Incident._meta.db_table)} i "
            f"ON i.{quote(Incident._meta.pk.column)} = a.{quote(column('incident').column)} "  # type: ignore[union-attr]
            f"WHERE a.{quote(column('integration').column)} = %s "
            f"AND NOT (a.{quote(column('status').column)} = %s) "
            f"AND a.{quote(column('dedup_key').column)} IN "
        )

    def run(self, db: BaseDatabaseWrapper, integration_id: int, keys: list[str]) -> list[Alert]:
        sql = self.head + "(" + ", ".join(["%s"] * len(keys)) + ")"
        with db.cursor() as cursor:
            cursor.execute(sql, [integration_id, str(AlertStatus.RESOLVED), *keys])
            rows = cursor.fetchall()
        alerts: list[Alert] = []
        for row in rows:
            values = list(row)
            alert = self.alert.instance(db, values[: self.width])
            incident = None
            if values[self.incident_pk] is not None:  # the join found the incident
                incident = self.incident.instance(db, values[self.width :])
            self.incident_field.set_cached_value(alert, incident)  # type: ignore[union-attr]
            alerts.append(alert)  # type: ignore[arg-type]
        return alerts


def open_incident_for_grouping(
    *, service: Service, grouping_key: str, started_after: dt.datetime | None = None
) -> Incident | None:
    """The newest open incident holding alerts of this grouping key on this service
    (reported at or after `started_after` if given): one prepared statement."""
    db = connections[router.db_for_read(Alert)]
    statement = _prepared(db, _IncidentForGrouping)
    params: list[Any] = [service.pk, grouping_key, *statement.statuses]
    sql = statement.sql
    if started_after is not None:
        sql = statement.sql_since
        params.append(db.ops.adapt_datetimefield_value(started_after))
    with db.cursor() as cursor:
        cursor.execute(sql + statement.tail, params)
        row = cursor.fetchone()
    return None if row is None else statement.incident.instance(db, list(row))  # type: ignore[return-value]


class _IncidentForGrouping:
    def __init__(self, db: BaseDatabaseWrapper) -> None:
        quote = db.ops.quote_name
        self.vendor = db.vendor
        self.statuses = [str(status) for status in OPEN_STATUSES]
        alert = Alert._meta.get_field
        incident = Incident._meta.get_field
        alert_incident = quote(alert("incident").column)  # type: ignore[union-attr]
        self.incident = _Columns(Incident, "i", db)
        service_column = f"a.{quote(alert('service').column)}"  # type: ignore[union-attr]
        if db.vendor == "sqlite":
            # Without statistics SQLite's planner picks the service index and reads every
            # alert of the service; a unary plus keeps it on the (selective) grouping key.
            service_column = f"+{service_column}"
        self.sql = (
            f"SELECT {', '.join(self.incident.sql)} FROM {quote(Alert._meta.db_table)} a "  # noqa: S608 - quoted metadata
            f"INNER JOIN {quote(Incident._meta.db_table)} i "
            f"ON i.{quote(Incident._meta.pk.column)} = a.{alert_incident} "  # type: ignore[union-attr]
            f"WHERE {service_column} = %s "
            f"AND a.{quote(alert('grouping_key').column)} = %s "  # type: ignore[union-attr]
            f"AND i.{quote(incident('status').column)} IN "  # type: ignore[union-attr]
            f"({', '.join(['%s'] * len(self.statuses))})"
        )
        self.sql_since = f"{self.sql} AND i.{quote(incident('reported_at').column)} >= %s"  # type: ignore[union-attr]
        self.tail = f" ORDER BY a.{alert_incident} DESC LIMIT 1"


def open_storm_of(service: Service) -> AlertStorm | None:
    """The service's newest storm whose incident is open, with its incident and service:
    `AlertStorm.objects.filter(service=service, incident__status__in=OPEN_STATUSES)
    .select_related("incident", "service").order_by("-id").first()`, as one prepared
    statement (asked for every inbox row that opens an alert); `service` is the one given."""
    db = connections[router.db_for_read(AlertStorm)]
    statement = _prepared(db, _OpenStorm)
    return statement.run(db, service)


class _OpenStorm:
    def __init__(self, db: BaseDatabaseWrapper) -> None:
        quote = db.ops.quote_name
        self.vendor = db.vendor
        self.storm = _Columns(AlertStorm, "s", db)
        self.incident = _Columns(Incident, "i", db)
        self.width = len(self.storm.names)
        self.incident_field = AlertStorm._meta.get_field("incident")
        self.service_field = AlertStorm._meta.get_field("service")
        self.statuses = [str(status) for status in OPEN_STATUSES]
        column = AlertStorm._meta.get_field
        self.sql = (
            f"SELECT {', '.join(self.storm.sql + self.incident.sql)} "  # noqa: S608 - quoted metadata
            f"FROM {quote(AlertStorm._meta.db_table)} s "
            f"INNER JOIN {quote(Incident._meta.db_table)} i "
            f"ON i.{quote(Incident._meta.pk.column)} = s.{quote(column('incident').column)} "  # type: ignore[union-attr]
            f"WHERE s.{quote(column('service').column)} = %s "
            f"AND i.{quote(Incident._meta.get_field('status').column)} IN "
            f"({', '.join(['%s'] * len(self.statuses))}) "
            f"ORDER BY s.{quote(AlertStorm._meta.pk.column)} DESC LIMIT 1"  # type: ignore[union-attr]
        )

    def run(self, db: BaseDatabaseWrapper, service: Service) -> AlertStorm | None:
        with db.cursor() as cursor:
            cursor.execute(self.sql, [service.pk, *self.statuses])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        storm = self.storm.instance(db, values[: self.width])
        incident = self.incident.instance(db, values[self.width :])
        self.incident_field.set_cached_value(storm, incident)  # type: ignore[union-attr]
        self.incident_field.remote_field.set_cached_value(incident, storm)  # type: ignore[union-attr]
        self.service_field.set_cached_value(storm, service)  # type: ignore[union-attr]
        return storm  # type: ignore[return-value]


def suppressions_possible(
    service: Service, at: dt.datetime, *, until: dt.datetime | None = None
) -> bool:
    """Whether any maintenance window of the service or any silence (of the service or of
    every service) runs at `at` (or at any time from `at` to `until`): one cheap
    statement, so that the usual case (none) never loads them (maintenance_windows_active
    and silences_active say which)."""
    db = connections[router.db_for_read(Silence)]
    statement = _prepared(db, _SuppressionsPossible)
    start = db.ops.adapt_datetimefield_value(at)
    end = db.ops.adapt_datetimefield_value(until or at)
    with db.cursor() as cursor:
        cursor.execute(statement.sql, [service.pk, end, start, service.pk, end, start])
        return cursor.fetchone() is not None


class _SuppressionsPossible:
    def __init__(self, db: BaseDatabaseWrapper) -> None:
        quote = db.ops.quote_name
        self.vendor = db.vendor
        services = MaintenanceWindow._meta.get_field("services")
        through = services.remote_field.through  # type: ignore[union-attr]
        window = MaintenanceWindow._meta.get_field
        silence = Silence._meta.get_field
        silence_service = quote(silence("service").column)  # type: ignore[union-attr]
        window_pk = quote(MaintenanceWindow._meta.pk.column)  # type: ignore[union-attr]
        self.sql = (
            "SELECT 1 FROM "  # noqa: S608 - quoted metadata
            f"{quote(MaintenanceWindow._meta.db_table)} w INNER JOIN "
            f"{quote(through._meta.db_table)} t "
            f"ON t.{quote(services.m2m_column_name())} = w.{window_pk} "  # type: ignore[union-attr]
            f"WHERE t.{quote(services.m2m_reverse_name())} = %s "  # type: ignore[union-attr]
            f"AND w.{quote(window('starts_at').column)} <= %s "  # type: ignore[union-attr]
            f"AND w.{quote(window('ends_at').column)} > %s "  # type: ignore[union-attr]
            f"UNION ALL SELECT 1 FROM {quote(Silence._meta.db_table)} x "
            f"WHERE (x.{silence_service} IS NULL OR x.{silence_service} = %s) "
            f"AND x.{quote(silence('starts_at').column)} <= %s "  # type: ignore[union-attr]
            f"AND x.{quote(silence('ends_at').column)} > %s"  # type: ignore[union-attr]
        )


_PREPARED: dict[tuple[str, type], Any] = {}


def _prepared(db: BaseDatabaseWrapper, kind: type) -> Any:
    """One prepared statement object of this kind per database connection alias."""
    statement = _PREPARED.get((db.alias, kind))
    if statement is None or statement.vendor != db.vendor:
        statement = _PREPARED[(db.alias, kind)] = kind(db)
    return statement


def monitoring_incidents_since(service: Service, since: dt.datetime) -> int:
    """Incidents monitoring opened for the service since then: one prepared statement."""
    db = connections[router.db_for_read(Incident)]
    statement = _prepared(db, _MonitoringIncidentsSince)
    params = [service.pk, statement.source, db.ops.adapt_datetimefield_value(since)]
    with db.cursor() as cursor:
        cursor.execute(statement.sql, params)
        return int(cursor.fetchone()[0])


class _MonitoringIncidentsSince:
    def __init__(self, db: BaseDatabaseWrapper) -> None:
        quote = db.ops.quote_name
        self.vendor = db.vendor
        self.source = "monitoring"
        column = Incident._meta.get_field
        self.sql = (
            f"SELECT COUNT(*) FROM {quote(Incident._meta.db_table)} "  # noqa: S608 - quoted metadata
            f"WHERE {quote(column('service').column)} = %s "  # type: ignore[union-attr]
            f"AND {quote(column('source').column)} = %s "  # type: ignore[union-attr]
            f"AND {quote(column('reported_at').column)} >= %s"  # type: ignore[union-attr]
        )


def incident_has_open_alerts(incident_id: int) -> bool:
    return (
        Alert.objects.filter(incident_id=incident_id).exclude(status=AlertStatus.RESOLVED).exists()
    )


def maintenance_windows_active(
    service: Service, at: dt.datetime, *, until: dt.datetime | None = None
) -> list[MaintenanceWindow]:
    """The service's windows running at `at` (or at any time from `at` to `until`)."""
    return list(
        MaintenanceWindow.objects.filter(
            services=service, starts_at__lte=until or at, ends_at__gt=at
        )
        .order_by("id")
        .distinct()
    )


def silences_active(
    service: Service, at: dt.datetime, *, until: dt.datetime | None = None
) -> list[Silence]:
    """Silences of the service or of every service running at `at` (or at any time from
    `at` to `until`)."""
    return list(
        Silence.objects.filter(Q(service__isnull=True) | Q(service=service))
        .filter(starts_at__lte=until or at, ends_at__gt=at)
        .order_by("id")
    )


def silence_matches(silence: Silence, labels: dict[str, Any]) -> bool:
    """Every matcher's label is present with exactly that value (no matchers: all alerts)."""
    for matcher in silence.matchers or []:
        if not isinstance(matcher, dict):
            return False
        label = str(matcher.get("label", ""))
        if label not in labels or str(labels[label]) != str(matcher.get("value", "")):
            return False
    return True


def heartbeats_due(*, at: dt.datetime, limit: int) -> list[tuple[int, str, dt.datetime]]:
    """(pk, state, due_at) of heartbeats whose due time has passed and that are not
    already down: up, or new (set up, never pinged) when they have a due time."""
    return list(
        Heartbeat.objects.filter(state__in=("up", "new"), due_at__lt=at)
        .order_by("due_at")
        .values_list("pk", "state", "due_at")[:limit]
    )


def storms_to_refresh(*, shown_before: dt.datetime) -> list[int]:
    """Open storms whose incident shows an out-of-date count."""
    return list(
        AlertStorm.objects.filter(incident__status__in=OPEN_STATUSES, shown_at__lte=shown_before)
        .exclude(shown_count=F("alert_count"))
        .values_list("pk", flat=True)
    )


def last_resolved_start_by_key(
    integration_id: int, keys: list[str], *, since: dt.datetime
) -> dict[str, dt.datetime]:
    """For each key, when its most recently resolved alert (resolved since `since`) started:
    what `Alert.objects.filter(integration_id=..., dedup_key__in=keys, status=RESOLVED,
    resolved_at__gte=since).order_by("dedup_key", "-resolved_at")` says, through one
    prepared statement (asked for every snapshot row, with up to hundreds of keys)."""
    unique = list(dict.fromkeys(keys))
    found: dict[str, dt.datetime] = {}
    if not unique:
        return found
    db = connections[router.db_for_read(Alert)]
    statement = _prepared(db, _LastResolvedStart)
    head = [integration_id, statement.resolved, db.ops.adapt_datetimefield_value(since)]
    for start in range(0, len(unique), KEYS_PER_QUERY):
        chunk = unique[start : start + KEYS_PER_QUERY]
        sql = statement.head + "(" + ", ".join(["%s"] * len(chunk)) + ")" + statement.tail
        with db.cursor() as cursor:
            cursor.execute(sql, [*head, *chunk])
            rows = cursor.fetchall()
        for key, started in rows:
            if key not in found:
                found[key] = statement.started_at(db, started)
    return found


class _LastResolvedStart:
    def __init__(self, db: BaseDatabaseWrapper) -> None:
        quote = db.ops.quote_name
        self.vendor = db.vendor
        self.resolved = str(AlertStatus.RESOLVED)
        column = Alert._meta.get_field
        started = column("started_at")
        col = started.get_col("a")  # type: ignore[union-attr]
        self.converters = db.ops.get_db_converters(col) + col.get_db_converters(db)
        self.col = col
        self.head = (
            f"SELECT a.{quote(column('dedup_key').column)}, "  # type: ignore[union-attr]  # noqa: S608 - quoted metadata
            f"a.{quote(started.column)} "  # type: ignore[union-attr]
            f"FROM {quote(Alert._meta.db_table)} a "
            f"WHERE a.{quote(column('integration').column)} = %s "  # type: ignore[union-attr]
            f"AND a.{quote(column('status').column)} = %s "  # type: ignore[union-attr]
            f"AND a.{quote(column('resolved_at').column)} >= %s "  # type: ignore[union-attr]
            f"AND a.{quote(column('dedup_key').column)} IN "  # type: ignore[union-attr]
        )
        resolved_at = quote(column("resolved_at").column)  # type: ignore[union-attr]
        self.tail = f" ORDER BY a.{quote(column('dedup_key').column)}, a.{resolved_at} DESC"  # type: ignore[union-attr]

    def started_at(self, db: BaseDatabaseWrapper, value: Any) -> dt.datetime:
        for converter in self.converters:
            value = converter(value, self.col, db)
        return value  # type: ignore[no-any-return]
