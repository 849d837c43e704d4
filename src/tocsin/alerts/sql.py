"""Every hand-written SQL statement of the ingest path, in one place.

Each one replaces an ORM query that the drain (or every accepted request) runs once per
row or per request, where building the query through the ORM cost a measured share of
the time (docs/benchmarks.md, "What each hand-written statement buys"). Each is built
once per database connection alias from the models' metadata (table and column names
quoted by the backend, never from input), with the same value converters the ORM
applies, and tests/alerts/engine/test_sql.py checks it gives what the ORM query it
replaces gives, on SQLite and on PostgreSQL. The ORM query is in each docstring.

- open_alerts_of (_by_key)     a batch: the open alerts of its rows' keys, with incidents
- open_incident_for_grouping  every new grouping key: the incident an alert joins
- open_incidents_for_groupings  a batch: the same for every new grouping key of its rows
- open_storm_of               a batch that opens an alert: the service's open storm
- last_resolved_start_by_key  every snapshot row (Alertmanager, Grafana)
- insert_alert_groups         a batch's new alerts (every row's): multi-row INSERT RETURNING
- update_occurrences          a batch's duplicates: occurrences and last seen, executemany
- record_outcomes             every row: outcome and claim, one executemany a batch
- insert_inbox_row            every accepted request (the web side)

The integration lookup by key (every request) is in tocsin.catalog.selectors: the
catalog must not import alerts.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import connection, connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from tocsin.alerts.models import Alert, AlertStatus, AlertStorm, InboxEvent, InboxState
from tocsin.catalog.models import Integration, Service
from tocsin.core import jsonfast
from tocsin.core.jsonfast import json_param
from tocsin.core.prepared import Columns, prepared
from tocsin.incidents.models import OPEN_STATUSES, Incident

if TYPE_CHECKING:
    from tocsin.alerts.services import NewAlert

    # The new alerts of one inbox row: its integration, when it was received, the alerts.
    AlertGroup = tuple[Integration, dt.datetime, list[NewAlert]]


def _column_name(field: Any) -> str:
    """The database column of a concrete field (typed: the stubs allow None)."""
    column = getattr(field, "column", None)
    if not isinstance(column, str):
        raise LookupError(f"{field!r} has no database column")
    return column


def _columns_of(meta: Any) -> Callable[[str], str]:
    """name -> database column, for a model's _meta."""
    return lambda name: _column_name(meta.get_field(name))


def _columns(model: type[Model]) -> Callable[[str], str]:
    return _columns_of(model._meta)


def _pk_column_of(meta: Any) -> str:
    return _column_name(meta.pk)


def _pk_column(model: type[Model]) -> str:
    return _pk_column_of(model._meta)


def open_alerts_by_key(integration_id: int, keys: list[str]) -> dict[str, Alert]:
    """The open (not resolved) alert of each dedup key on this integration, with its
    incident: what `Alert.objects.filter(integration_id=..., dedup_key__in=keys)
    .exclude(status=RESOLVED).select_related("incident")` gives, through one prepared
    statement (the drain asks this once per inbox row, for up to hundreds of keys)."""
    return open_alerts_of({integration_id: keys}).get(integration_id, {})


def open_alerts_of(wanted: dict[int, list[str]]) -> dict[int, dict[str, Alert]]:
    """`open_alerts_by_key` for several integrations at once (a batch's rows): one
    statement for all of them, {integration id: {key: alert}}. The (integration, key)
    pairs are a VALUES list joined to the open-key index: one index search a pair (with
    `integration IN (...) AND key IN (...)`, both databases searched every integration
    for every key: 20 integrations and 500 keys, 10,000 searches)."""
    pairs = list(dict.fromkeys((pk, key) for pk, keys in wanted.items() for key in keys))
    found: dict[int, dict[str, Alert]] = {}
    if not pairs:
        return found
    db = connections[router.db_for_read(Alert)]
    statement = prepared(db, _OpenAlertsByKey)
    for start in range(0, len(pairs), KEYS_PER_QUERY):
        for alert in statement.run(db, pairs[start : start + KEYS_PER_QUERY]):
            found.setdefault(alert.integration_id, {})[alert.dedup_key] = alert
    return found


KEYS_PER_QUERY = 500  # parameters per statement stay far below every backend's limit


class _OpenAlertsByKey:
    """The open alerts of (integration, key) pairs, with their incidents.

    Built for the common case, a re-sent snapshot (every group_interval Alertmanager
    sends the whole group again): the alerts come without their JSON columns (details,
    links, labels: deferred, read by the instance only if asked, which the drain does
    only for an alert it releases from a suppression or counts in a storm), and their
    incidents in a second statement, each once however many of its alerts come (a
    snapshot's hundred alerts share one): an alert's three JSON documents and a copy of
    its incident's 40 columns (17 times) were most of a re-send's drain."""

    DEFERRED = ("details", "links", "labels")

    def __init__(self, db: BaseDatabaseWrapper) -> None:
        quote = db.ops.quote_name
        self.vendor = db.vendor
        self.alert = Columns(Alert, "a", db, defer=self.DEFERRED)
        self.incident = Columns(Incident, "i", db)
        self.incident_id = self.alert.names.index(Alert._meta.get_field("incident").attname)
        self.incident_field = Alert._meta.get_field("incident")
        column = _columns(Alert)
        # (VALUES ...) k: its columns are column1, column2 on both databases.
        self.head = f"SELECT {', '.join(self.alert.sql)} FROM (VALUES "  # noqa: S608 - quoted metadata
        self.tail = (
            f") k INNER JOIN {quote(Alert._meta.db_table)} a "
            f"ON a.{quote(column('integration'))} = k.column1 "
            f"AND a.{quote(column('dedup_key'))} = k.column2 "
            f"WHERE NOT (a.{quote(column('status'))} = %s)"
        )
        self.incidents = (
            f"SELECT {', '.join(self.incident.sql)} FROM {quote(Incident._meta.db_table)} i "  # noqa: S608 - quoted metadata
            f"WHERE i.{quote(_pk_column(Incident))} IN "
        )

    def run(self, db: BaseDatabaseWrapper, pairs: list[tuple[int, str]]) -> list[Alert]:
        sql = self.head + ", ".join(["(%s, %s)"] * len(pairs)) + self.tail
        params: list[Any] = [value for pair in pairs for value in pair]
        params.append(str(AlertStatus.RESOLVED))
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            ids = list({row[self.incident_id] for row in rows} - {None})
            incidents: dict[Any, Model] = {}
            if ids:
                cursor.execute(self.incidents + "(" + ", ".join(["%s"] * len(ids)) + ")", ids)
                for values in cursor.fetchall():
                    incident = self.incident.instance(db, list(values))
                    incidents[incident.pk] = incident
        alerts: list[Alert] = []
        for row in rows:
            alert = self.alert.instance(db, list(row))
            self.incident_field.set_cached_value(alert, incidents.get(row[self.incident_id]))
            alerts.append(alert)  # type: ignore[arg-type]
        return alerts


def open_incident_for_grouping(
    *, service: Service, grouping_key: str, started_after: dt.datetime | None = None
) -> Incident | None:
    """The newest open incident holding alerts of this grouping key on this service
    (reported at or after `started_after` if given): one prepared statement."""
    db = connections[router.db_for_read(Alert)]
    statement = prepared(db, _IncidentForGrouping)
    params: list[Any] = [service.pk, grouping_key, *statement.statuses]
    sql = statement.sql
    if started_after is not None:
        sql = statement.sql_since
        params.append(db.ops.adapt_datetimefield_value(started_after))
    with db.cursor() as cursor:
        cursor.execute(sql + statement.tail, params)
        row = cursor.fetchone()
    return None if row is None else statement.incident.instance(db, list(row))


class _IncidentForGrouping:
    def __init__(self, db: BaseDatabaseWrapper) -> None:
        quote = db.ops.quote_name
        self.vendor = db.vendor
        self.statuses = [str(status) for status in OPEN_STATUSES]
        alert = _columns(Alert)
        incident = _columns(Incident)
        alert_incident = quote(alert("incident"))
        self.incident = Columns(Incident, "i", db)
        service_column = f"a.{quote(alert('service'))}"
        if db.vendor == "sqlite":
            # Without statistics SQLite's planner picks the service index and reads every
            # alert of the service; a unary plus keeps it on the (selective) grouping key.
            service_column = f"+{service_column}"
        self.sql = (
            f"SELECT {', '.join(self.incident.sql)} FROM {quote(Alert._meta.db_table)} a "  # noqa: S608 - quoted metadata
            f"INNER JOIN {quote(Incident._meta.db_table)} i "
            f"ON i.{quote(_pk_column(Incident))} = a.{alert_incident} "
            f"WHERE {service_column} = %s "
            f"AND a.{quote(alert('grouping_key'))} = %s "
            f"AND i.{quote(incident('status'))} IN "
            f"({', '.join(['%s'] * len(self.statuses))})"
        )
        self.sql_since = f"{self.sql} AND i.{quote(incident('reported_at'))} >= %s"
        self.tail = f" ORDER BY a.{alert_incident} DESC LIMIT 1"


def open_storm_of(service: Service) -> AlertStorm | None:
    """The service's newest storm whose incident is open, with its incident: what
    `AlertStorm.objects.filter(service=service, incident__status__in=OPEN_STATUSES)
    .select_related("incident").order_by("-id").first()` gives, through one prepared
    statement (a storm's drain asks it for nearly every batch: a few rows of one
    service each)."""
    db = connections[router.db_for_read(AlertStorm)]
    statement: _OpenStorm = prepared(db, _OpenStorm)
    with db.cursor() as cursor:
        cursor.execute(statement.sql, [service.pk, *statement.statuses])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    width = statement.storm.width
    storm: Any = statement.storm.instance(db, values[:width])
    incident = statement.incident.instance(db, values[width:])
    statement.incident_field.set_cached_value(storm, incident)
    # (one-to-one: the incident knows its storm, as select_related leaves it)
    statement.incident_field.remote_field.set_cached_value(incident, storm)
    return storm


class _OpenStorm:
    def __init__(self, db: BaseDatabaseWrapper) -> None:
        quote = db.ops.quote_name
        self.vendor = db.vendor
        self.statuses = [str(status) for status in OPEN_STATUSES]
        storm = _columns(AlertStorm)
        self.storm = Columns(AlertStorm, "s", db)
        self.incident = Columns(Incident, "i", db)
        self.incident_field: Any = AlertStorm._meta.get_field("incident")
        self.sql = (
            f"SELECT {', '.join(self.storm.sql + self.incident.sql)} "  # noqa: S608 - quoted metadata
            f"FROM {quote(AlertStorm._meta.db_table)} s "
            f"INNER JOIN {quote(Incident._meta.db_table)} i "
            f"ON i.{quote(_pk_column(Incident))} = s.{quote(storm('incident'))} "
            f"WHERE s.{quote(storm('service'))} = %s "
            f"AND i.{quote(_columns(Incident)('status'))} IN "
            f"({', '.join(['%s'] * len(self.statuses))}) "
            f"ORDER BY s.{quote(_pk_column(AlertStorm))} DESC LIMIT 1"
        )


def open_incidents_for_groupings(*, service_id: int, grouping_keys: list[str]) -> dict[str, int]:
    """For each grouping key, the newest open incident holding alerts of it on this
    service: {grouping key: incident id}, keys without one left out. What
    `Alert.objects.filter(service_id=..., grouping_key__in=keys,
    incident__status__in=OPEN_STATUSES).order_by("grouping_key", "-incident_id")
    .values_list("grouping_key", "incident_id")` gives (the first of each key), through
    one prepared statement a batch. On SQLite the ORM query read every alert of the
    service (the planner, without statistics, picks the service index): a batch of a
    service with 27,000 alerts took 12 ms; this one reads the keys' alerts only."""
    unique = list(dict.fromkeys(grouping_keys))
    found: dict[str, int] = {}
    if not unique:
        return found
    db = connections[router.db_for_read(Alert)]
    statement = prepared(db, _IncidentsForGroupings)
    for start in range(0, len(unique), KEYS_PER_QUERY):
        chunk = unique[start : start + KEYS_PER_QUERY]
        sql = statement.head + "(" + ", ".join(["%s"] * len(chunk)) + ")" + statement.tail
        with db.cursor() as cursor:
            cursor.execute(sql, [service_id, *statement.statuses, *chunk])
            found.update(cursor.fetchall())
    return found


class _IncidentsForGroupings:
    def __init__(self, db: BaseDatabaseWrapper) -> None:
        quote = db.ops.quote_name
        self.vendor = db.vendor
        self.statuses = [str(status) for status in OPEN_STATUSES]
        alert = _columns(Alert)
        incident = _columns(Incident)
        alert_incident = f"a.{quote(alert('incident'))}"
        grouping_key = f"a.{quote(alert('grouping_key'))}"
        service_column = f"a.{quote(alert('service'))}"
        if db.vendor == "sqlite":  # as in _IncidentForGrouping: the grouping key's index
            service_column = f"+{service_column}"
        self.head = (
            f"SELECT {grouping_key}, MAX({alert_incident}) "  # noqa: S608 - quoted metadata
            f"FROM {quote(Alert._meta.db_table)} a "
            f"INNER JOIN {quote(Incident._meta.db_table)} i "
            f"ON i.{quote(_pk_column(Incident))} = {alert_incident} "
            f"WHERE {service_column} = %s "
            f"AND i.{quote(incident('status'))} IN "
            f"({', '.join(['%s'] * len(self.statuses))}) "
            f"AND {grouping_key} IN "
        )
        self.tail = f" GROUP BY {grouping_key}"


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
    statement = prepared(db, _LastResolvedStart)
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
        column = _columns(Alert)
        started = Alert._meta.get_field("started_at")
        col = started.get_col("a")
        self.converters = db.ops.get_db_converters(col) + col.get_db_converters(db)
        self.col = col
        self.head = (
            f"SELECT a.{quote(column('dedup_key'))}, "  # noqa: S608 - quoted metadata
            f"a.{quote(_column_name(started))} "
            f"FROM {quote(Alert._meta.db_table)} a "
            f"WHERE a.{quote(column('integration'))} = %s "
            f"AND a.{quote(column('status'))} = %s "
            f"AND a.{quote(column('resolved_at'))} >= %s "
            f"AND a.{quote(column('dedup_key'))} IN "
        )
        resolved_at = quote(column("resolved_at"))
        self.tail = f" ORDER BY a.{quote(column('dedup_key'))}, a.{resolved_at} DESC"

    def started_at(self, db: BaseDatabaseWrapper, value: Any) -> dt.datetime:
        for converter in self.converters:
            value = converter(value, self.col, db)
        return value


class _AlertInsert:
    """A prepared multi-row INSERT of new alerts, with RETURNING of their ids.

    What `Alert.objects.bulk_create` does for new alerts, without model instances or
    building the statement through the ORM for every batch (most of a snapshot's cost).
    """

    # (column, where its value comes from); every other column of the table is NULL.
    SOURCES = (
        ("integration", "integration"),
        ("service", "service"),
        ("dedup_key", "dedup_key"),
        ("group_key", "group_key"),
        ("grouping_key", "grouping_key"),
        ("status", "status"),
        ("severity", "severity"),
        ("summary", "summary"),
        ("source", "source"),
        ("details", "json"),
        ("links", "json"),
        ("labels", "json"),
        ("started_at", "started_at"),
        ("first_seen_at", "received_at"),
        ("last_seen_at", "received_at"),
        ("occurrences", "occurrences"),
        ("incident", "incident_id"),
        ("suppressed_reason", "suppressed_reason"),
    )

    def __init__(self, db: Any) -> None:
        meta = Alert._meta
        quote = db.ops.quote_name
        fields = [meta.get_field(name) for name, _ in self.SOURCES]
        require_filled(Alert, [name for name, _ in self.SOURCES], "_AlertInsert")
        self.vendor = db.vendor
        self.fields = fields
        self.json = [json_param(db, f) for f in fields if isinstance(f, models.JSONField)]
        self.head = (
            f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608 - quoted model metadata
            f"({', '.join(quote(_column_name(f)) for f in fields)}) VALUES "
        )
        self.row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        self.tail = f" RETURNING {quote(_pk_column_of(meta))}"
        self.unnest = ""
        if db.vendor == "postgresql" and all(
            f.encoder is None for f in fields if isinstance(f, models.JSONField)
        ):
            self.unnest = self._unnest_sql(db, fields)

    # PostgreSQL: every column but the constant ones, as one JSON document (the alerts of
    # several rows, hence of several integrations, may go in one statement).
    RECORD = (
        ("integration", "bigint"),
        ("service", "bigint"),
        ("dedup_key", "text"),
        ("group_key", "text"),
        ("grouping_key", "text"),
        ("severity", "text"),
        ("summary", "text"),
        ("source", "text"),
        ("details", "jsonb"),
        ("links", "jsonb"),
        ("labels", "jsonb"),
        ("started_at", "timestamptz"),
        ("first_seen_at", "timestamptz"),
        ("last_seen_at", "timestamptz"),
        ("incident", "bigint"),
        ("suppressed_reason", "text"),
    )

    def _unnest_sql(self, db: Any, fields: list[Any]) -> str:
        """INSERT ... SELECT FROM jsonb_to_recordset(one JSON array of the alerts) WITH
        ORDINALITY ORDER BY it: a short statement whatever the number of alerts, with
        one parameter (psycopg re-parses a long statement with its 1,800 placeholders at
        every call, and quotes each value in Python: most of a snapshot's drain), ids in
        the alerts' order as with VALUES."""
        quote = db.ops.quote_name
        record = dict(self.RECORD)
        select = [f"u.{name}" if name in record else "%s" for name, _ in self.SOURCES]
        columns = ", ".join(f"{name} {kind}" for name, kind in self.RECORD)
        names = ", ".join(name for name, _ in self.RECORD)
        return (
            f"INSERT INTO {quote(Alert._meta.db_table)} "  # noqa: S608 - quoted model metadata
            f"({', '.join(quote(f.column) for f in fields)}) "
            f"SELECT {', '.join(select)} FROM ROWS FROM "
            f"(jsonb_to_recordset(%s::jsonb) AS ({columns})) WITH ORDINALITY "
            f"AS u({names}, n) ORDER BY u.n{self.tail}"
        )

    def run(self, db: Any, groups: list[AlertGroup]) -> None:
        if self.unnest:
            self._run_unnest(db, groups)
            return
        adapt_datetime = db.ops.adapt_datetimefield_value
        details_json, links_json, labels_json = self.json
        times: dict[dt.datetime, Any] = {}  # a snapshot's alerts share their start times
        flat: list[tuple[Integration, Any, NewAlert]] = []
        for integration, received_at, alerts in groups:
            seen = adapt_datetime(received_at)
            flat += [(integration, seen, alert) for alert in alerts]
        size = max(1, db.ops.bulk_batch_size(self.fields, flat), self._sqlite_rows(db))
        for start in range(0, len(flat), size):
            batch = flat[start : start + size]
            params: list[Any] = []
            for integration, seen, alert in batch:
                started = times.get(alert.started_at)
                if started is None:
                    started = times[alert.started_at] = adapt_datetime(alert.started_at)
                params += (
                    integration.pk,
                    integration.service_id,
                    alert.dedup_key,
                    alert.group_key,
                    alert.grouping_key,
                    AlertStatus.TRIGGERED.value,
                    alert.severity,
                    alert.summary,
                    alert.source,
                    details_json(alert.details),
                    links_json(alert.links),
                    labels_json(alert.labels),
                    started,
                    seen,
                    seen,
                    1,
                    alert.incident_id,
                    alert.suppressed_reason,
                )
            sql = self.head + ", ".join([self.row] * len(batch)) + self.tail
            with db.cursor() as cursor:
                cursor.execute(sql, params)
                ids = cursor.fetchall()
            for (_, _, alert), (pk,) in zip(batch, ids, strict=True):
                alert.pk = pk

    ROWS_MAX = 500  # alerts a statement at most (SQLite)

    def _sqlite_rows(self, db: Any) -> int:
        """Alerts a statement may hold on SQLite: as many as its real limit of variables
        allows (32,766 since SQLite 3.32; Django assumes the old 999, which split a
        snapshot's 100 alerts in two statements), up to ROWS_MAX; 0 elsewhere."""
        if db.vendor != "sqlite":
            return 0
        db.ensure_connection()
        getlimit = getattr(db.connection, "getlimit", None)  # Python 3.11+
        if getlimit is None:
            return 0
        variables = int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        return min(self.ROWS_MAX, variables // len(self.fields))

    def _run_unnest(self, db: Any, groups: list[AlertGroup]) -> None:
        constant = {"status": AlertStatus.TRIGGERED.value, "occurrences": 1}
        record = dict(self.RECORD)
        params: list[Any] = [constant[name] for name, _ in self.SOURCES if name not in record]
        times: dict[dt.datetime, str] = {}  # a snapshot's alerts share their start times
        names = [name for name, _ in self.RECORD]
        rows = []
        every: list[NewAlert] = []
        for integration, received_at, alerts in groups:
            seen = received_at.isoformat()
            every += alerts
            for a in alerts:
                started = times.get(a.started_at)
                if started is None:
                    started = times[a.started_at] = a.started_at.isoformat()
                rows.append(
                    dict(
                        zip(
                            names,
                            (
                                integration.pk,
                                integration.service_id,
                                a.dedup_key,
                                a.group_key,
                                a.grouping_key,
                                a.severity,
                                a.summary,
                                a.source,
                                a.details,
                                a.links,
                                a.labels,
                                started,
                                seen,
                                seen,
                                a.incident_id,
                                a.suppressed_reason,
                            ),
                            strict=True,
                        )
                    )
                )
        params.append(jsonfast.dumps(rows))
        with db.cursor() as cursor:
            cursor.execute(self.unnest, params)
            ids = cursor.fetchall()
        for alert, (pk,) in zip(every, ids, strict=True):
            alert.pk = pk


def require_filled(model: type[models.Model], names: list[str], who: str) -> None:
    """A prepared INSERT fills these columns and leaves the others NULL: a NOT NULL
    column added to the model later fails here, saying where its value must come from."""
    missing = [
        f.name
        for f in model._meta.concrete_fields
        if not f.primary_key and not f.null and f.name not in names
    ]
    if missing:
        raise TypeError(f"{who} does not fill {model.__name__}.{', '.join(missing)}")


def _statement(name: str, build: Callable[[Any], str]) -> str:
    """A write statement built once per connection alias from the models' metadata."""
    key = (connection.alias, connection.vendor, name)
    sql = _STATEMENTS.get(key)
    if sql is None:
        sql = _STATEMENTS[key] = build(connection.ops.quote_name)
    return sql


_STATEMENTS: dict[tuple[str, str, str], str] = {}


_ALERT_INSERT: dict[str, _AlertInsert] = {}


def insert_alerts(
    integration: Integration, received_at: dt.datetime, alerts: list[NewAlert]
) -> None:
    """`Alert.objects.bulk_create(...)` of a row's new alerts, in order, as one prepared
    multi-row INSERT ... RETURNING (per batch of parameters); sets their pk. Needs
    `connection.features.can_return_rows_from_bulk_insert` (the caller checks)."""
    insert_alert_groups([(integration, received_at, alerts)])


def insert_alert_groups(groups: list[AlertGroup]) -> None:
    """`insert_alerts` for the new alerts of several rows at once (each row's
    integration and time of receipt), in order: one statement for all of them on
    PostgreSQL, as few as SQLite's parameter limit allows on SQLite."""
    statement = _ALERT_INSERT.get(connection.alias)
    if statement is None or statement.vendor != connection.vendor:
        statement = _ALERT_INSERT[connection.alias] = _AlertInsert(connection)
    if any(alerts for _, _, alerts in groups):
        statement.run(connection, [group for group in groups if group[2]])


def update_occurrences(alerts: list[Alert]) -> None:
    """`Alert.objects.bulk_update(alerts, ["occurrences", "last_seen_at"])` as one
    executemany of a prepared UPDATE (a batch of duplicates' merges: the ORM builds a
    CASE of every alert, twice, for every batch)."""

    def build(quote: Callable[[str], str]) -> str:
        column = _columns(Alert)
        return (
            f"UPDATE {quote(Alert._meta.db_table)} "  # noqa: S608 - quoted metadata
            f"SET {quote(column('occurrences'))} = %s, {quote(column('last_seen_at'))} = %s "
            f"WHERE {quote(_pk_column(Alert))} = %s"
        )

    if not alerts:
        return
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            _statement("update_occurrences", build),
            [(alert.occurrences, adapt(alert.last_seen_at), alert.pk) for alert in alerts],
        )


def record_outcomes(rows: list[InboxEvent], at: dt.datetime) -> int:
    """Each row done, with its outcome and detail, if it is still pending: one executemany
    of a prepared UPDATE; the number of rows it changed."""

    def build(quote: Callable[[str], str]) -> str:
        column = _columns(InboxEvent)
        state = quote(column("state"))
        return (
            f"UPDATE {quote(InboxEvent._meta.db_table)} "  # noqa: S608 - quoted metadata
            f"SET {state} = %s, "
            f"{quote(column('processed_at'))} = %s, "
            f"{quote(column('outcome'))} = %s, "
            f"{quote(column('outcome_detail'))} = %s "
            f"WHERE {quote(_pk_column(InboxEvent))} = %s AND {state} = %s"
        )

    if not rows:
        return 0
    done, pending = str(InboxState.DONE), str(InboxState.PENDING)
    moment = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        cursor.executemany(
            _statement("record_outcomes", build),
            [(done, moment, str(row.outcome), row.outcome_detail, row.pk, pending) for row in rows],
        )
        return int(cursor.rowcount)


INBOX_COLUMNS = (  # every column but the id and processed_at (NULL)
    "integration",
    "kind",
    "received_at",
    "events",
    "payload",
    "payload_truncated",
    "request_id",
    "state",
    "outcome",
    "outcome_detail",
)


def insert_inbox_row(values: list[Any]) -> None:
    """`InboxEvent.objects.create(...)` as one prepared INSERT, values in INBOX_COLUMNS
    order (every accepted request runs it; building it through the ORM was a third of a
    request's time). Outside a transaction it is its own, committed when this returns."""

    def build(quote: Callable[[str], str]) -> str:
        meta = InboxEvent._meta
        names = list(INBOX_COLUMNS)
        require_filled(InboxEvent, names, "inbox_add")
        columns = ", ".join(quote(_columns_of(meta)(name)) for name in names)
        marks = ", ".join(["%s"] * len(names))
        return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608 - quoted metadata

    with connection.cursor() as cursor:
        cursor.execute(_statement("inbox_add", build), values)
