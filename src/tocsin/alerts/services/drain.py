"""The drain: applying inbox rows, one at a time or in batches of one service."""

from __future__ import annotations

import datetime as dt
import time
from typing import cast

from django.db import (
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)

from tocsin.alerts import selectors, sql
from tocsin.alerts.adapters.base import Event
from tocsin.alerts.models import (
    ChangeEvent,
    InboxEvent,
    InboxState,
    Outcome,
)
from tocsin.alerts.services._common import (
    DETAIL_MAX,
    INCIDENT_HOLD,
    Detail,
    RowRejected,
    _event_from,
    _parse_time,
    _Result,
    _summarise,
    log,
)
from tocsin.alerts.services.alert_ops import _Row
from tocsin.alerts.services.batch_state import _Shared
from tocsin.alerts.services.pings import _record_ping
from tocsin.catalog.models import Grouping, Integration, Service
from tocsin.core.clock import now
from tocsin.core.crypto import sha256_hex
from tocsin.core.leases import lease_renew
from tocsin.core.memo import batch_memo
from tocsin.incidents.models import Incident


def _apply_events(row: InboxEvent, shared: _Shared | None) -> tuple[str, Detail]:
    raw = row.events
    if not isinstance(raw, list) or not raw:
        raise RowRejected("the row holds no events")
    work = _Row(
        integration=row.integration,
        received_at=row.received_at,
        at=now(),
        shared=shared if shared is not None else _Shared(),
    )
    parsed: list[Event | RowRejected] = []
    for data in raw:
        try:
            parsed.append(_event_from(data))
        except RowRejected as exc:
            parsed.append(exc)
    keys = [event.dedup_key for event in parsed if isinstance(event, Event)]
    work.open = work.shared.open_alerts(row.integration_id, keys)
    snapshot_keys = [
        event.dedup_key
        for event in parsed
        if isinstance(event, Event) and event.snapshot and event.dedup_key not in work.open
    ]
    if snapshot_keys:
        work.resolved_started = selectors.last_resolved_start_by_key(
            row.integration_id, snapshot_keys, since=row.received_at - dt.timedelta(days=1)
        )
    results: list[_Result] = []
    index = 0
    while index < len(parsed):
        item = parsed[index]
        together = work.openable_together(parsed, index)
        if together > 1:  # a snapshot's new alerts: opened alike, decided once
            results += work.open_many(cast(list[Event], parsed[index : index + together]))
            index += together
            continue
        results.append(
            _Result(Outcome.REJECTED, str(item))
            if isinstance(item, RowRejected)
            else work.apply(item)
        )
        index += 1
    work.finish()
    work.shared.remember(row.integration_id, keys, work)
    return _summarise(results)


def _record_change(row: InboxEvent) -> tuple[str, str]:
    raw = row.events
    if not isinstance(raw, list) or len(raw) != 1:
        raise RowRejected("a change row holds exactly one event")
    event = _event_from(raw[0])
    links = [link for link in event.links if link.get("href")]
    change = ChangeEvent.objects.create(
        integration=row.integration,
        service=row.integration.service,
        summary=event.summary,
        source=event.source,
        timestamp=_parse_time(event.occurred_at, row.received_at),
        details=event.details,
        links=links,
        received_at=row.received_at,
    )
    return Outcome.RECORDED, f"change event #{change.pk}"


def inbox_process(*, row: InboxEvent, shared: _Shared | None = None) -> tuple[str, str]:
    """Apply one inbox row (inside the caller's transaction); (outcome, detail).
    `shared`: what the rows of the caller's batch (of one service) share.

    RowRejected and Invalid (bad data the adapters let through) become `rejected`.
    """
    outcome, detail = _inbox_process(row, shared)
    if callable(detail):
        if shared is not None:
            shared.flush_alerts()
        detail = detail()
    return outcome, detail


def _inbox_process(row: InboxEvent, shared: _Shared | None) -> tuple[str, Detail]:
    """inbox_process, the detail perhaps waiting for the batch's new alerts' ids."""
    try:
        if row.kind == "event":
            return _apply_events(row, shared)
        if row.kind == "change":
            return _record_change(row)
        if row.kind == "heartbeat":
            return _record_ping(row)
        raise RowRejected(f"unknown inbox kind {row.kind!r}")
    except RowRejected as exc:
        return Outcome.REJECTED, str(exc)[:DETAIL_MAX]


class _RowsTaken(Exception):
    """Another worker finished some of the batch's rows meanwhile: roll the batch back."""


class _RowFailed(Exception):
    """A row failed in a batch run without savepoints: run the batch again with them."""


def inbox_process_batch(
    *,
    pks: list[int],
    lease_name: str,
    holder: str,
    lease_for: dt.timedelta,
    service_id: int | None = None,
) -> int | None:
    """Process several pending rows, in id order, in one transaction with their outcomes.

    One lease renewal, one read of the rows, the rows applied one after the other
    sharing what rows of one service share (`_Shared`: its storm, its suppressions, its
    incidents by grouping key), one write of the outcomes that is also the claim: a
    compare-and-set pending -> done on every row. If another worker got to any of them
    first, the whole batch rolls back (its rows were applied there), so no row is ever
    applied twice; the lease makes that a last resort. The claim comes last so that each
    row is written once: on SQLite an UPDATE rewrites the whole record, up to 64 KB of
    raw body and 100 events.

    The rows run without savepoints (two statements a row saved); if one fails, the
    batch rolls back and runs again with each row in a savepoint of its own and nothing
    shared, so that a row that fails is recorded as rejected without touching the others.

    `service_id`: only rows of that service (the one whose lease the caller holds).
    None: the lease is lost (nothing was done); else the number of rows processed. A
    transient database error (locked, gone) rolls back the whole batch, which stays
    pending and is retried.
    """
    if not pks:
        return 0
    done = 0
    left: list[int] = list(pks)
    while left:
        try:
            try:
                result = _process_batch(
                    left, lease_name, holder, lease_for, service_id, guarded=False
                )
            except _RowFailed:
                result = _process_batch(
                    left, lease_name, holder, lease_for, service_id, guarded=True
                )
        except _RowsTaken:
            log.warning("inbox rows %s were processed by another worker meanwhile", left)
            return done
        if result is None:
            return None
        processed, left = result
        done += processed
    return done


def _process_batch(
    pks: list[int],
    lease_name: str,
    holder: str,
    lease_for: dt.timedelta,
    service_id: int | None,
    *,
    guarded: bool,
) -> tuple[int, list[int]] | None:
    """One transaction: (rows processed, the ids left for the next one). On PostgreSQL
    it ends early after a row that opened an incident once it has run INCIDENT_HOLD:
    every new incident takes the one counter row for its number and holds it until the
    commit, so another worker opening an incident waits for this transaction."""
    with transaction.atomic(), batch_memo():  # settings read once per batch (core.memo)
        at = now()
        if not lease_renew(name=lease_name, holder=holder, until=at + lease_for):
            return None
        found = InboxEvent.objects.defer("payload").filter(
            pk__in=pks, state=InboxState.PENDING
        )  # the raw body (up to 64 KB) is for people
        if service_id is not None:  # the leased service's rows only
            found = found.filter(integration__service_id=service_id)
        rows = list(found.order_by("id"))
        if not rows:
            return 0, []
        _attach_integrations(rows)
        left: list[int] = []
        if guarded:
            for row in rows:
                row.outcome, row.outcome_detail = _process_guarded(row)
        else:
            shared = _Shared(
                span=(min(r.received_at for r in rows), max(r.received_at for r in rows))
            )
            prefetched = 0  # rows whose keys were looked up ahead
            began = time.perf_counter()
            details: list[Detail] = []
            for index, row in enumerate(rows):
                opened = shared.incidents_opened
                try:
                    if index >= prefetched:
                        prefetched = _prefetch_open_alerts(shared, rows, index)
                    if not _all_triggers(row):  # it may read or change earlier rows' alerts
                        shared.flush_alerts()
                    row.outcome, detail = _inbox_process(row, shared)
                    details.append(detail)
                except (OperationalError, InterfaceError):
                    raise
                except Exception as exc:
                    raise _RowFailed from exc
                if row.kind != "event":  # a ping may resolve the heartbeat's alert
                    shared.forget(row.integration_id)
                if (
                    shared.incidents_opened > opened
                    and connection.vendor != "sqlite"
                    and time.perf_counter() - began >= INCIDENT_HOLD
                ):
                    left = [later.pk for later in rows[index + 1 :]]
                    rows = rows[: index + 1]
                    break
            try:
                shared.finish()  # the new alerts inserted: their ids for the details
            except (OperationalError, InterfaceError):
                raise
            except Exception as exc:
                raise _RowFailed from exc
            for row, detail in zip(rows, details, strict=True):
                row.outcome_detail = detail() if callable(detail) else detail
        if sql.record_outcomes(rows, at) != len(rows):
            raise _RowsTaken
        return len(rows), left


PREFETCH_KEYS = 500  # dedup keys looked up ahead at a time


def _attach_integrations(rows: list[InboxEvent]) -> None:
    """Each row's integration and its service, read once for the batch and shared by
    its rows (instead of a copy of both, their JSON columns decoded, for every row)."""
    integrations = Integration.objects.select_related("service").in_bulk(
        {row.integration_id for row in rows}
    )
    services: dict[int, Service] = {}
    for integration in integrations.values():
        service = services.setdefault(integration.service_id, integration.service)
        if service is not integration.service:
            integration.service = service
    for row in rows:
        found = integrations.get(row.integration_id)
        if found is not None:
            row.integration = found


def _all_triggers(row: InboxEvent) -> bool:
    """An event row whose events are all triggers: it only opens alerts or merges into
    open ones (what it reads of alerts, it reads through `_Shared`)."""
    return (
        row.kind == "event"
        and isinstance(row.events, list)
        and all(isinstance(data, dict) and data.get("action") == "trigger" for data in row.events)
    )


def _prefetch_open_alerts(shared: _Shared, rows: list[InboxEvent], first: int) -> int:
    """The open alerts of every dedup key of the next event rows from `first` (up to
    about PREFETCH_KEYS keys: a batch may end early, and the rows it leaves are looked
    up again in the next one), and the open incidents of their grouping keys: one query
    each for all those rows, instead of one a row. The index of the first row left."""
    keys: dict[int, list[str]] = {}
    count = 0
    end = first
    while end < len(rows) and (end == first or count < PREFETCH_KEYS):
        row = rows[end]
        end += 1
        if row.kind == "event" and isinstance(row.events, list):
            mine = keys.setdefault(row.integration_id, [])
            for data in row.events:
                key = data.get("dedup_key") if isinstance(data, dict) else None
                if isinstance(key, str) and key:
                    mine.append(key)
                    count += 1
    shared.open_alerts_of(keys)
    _prefetch_groupings(shared, rows[first:end])
    return end


def _prefetch_groupings(shared: _Shared, rows: list[InboxEvent]) -> None:
    """The open incident of every grouping key the batch's triggers without an open alert
    may open an alert for: two queries a batch instead of one a new key (not for services
    that group by labels: those look within a time window, key by key)."""
    service = rows[0].integration.service
    if service.grouping == Grouping.LABELS and service.group_labels:
        return
    wanted: set[str] = set()
    hashed: dict[str, str] = {}  # a snapshot's alerts share their group
    for row in rows:
        known = shared.alerts.get(row.integration_id, {})
        if row.kind != "event" or not isinstance(row.events, list):
            continue
        for data in row.events:
            if not isinstance(data, dict) or data.get("action") != "trigger":
                continue
            key = data.get("dedup_key")
            if not isinstance(key, str) or known.get(key) is not None:
                continue
            group = data.get("group_key")
            name = group if isinstance(group, str) and group else key
            hashed_name = hashed.get(name)
            if hashed_name is None:
                hashed_name = hashed[name] = sha256_hex("key:" + name)
            wanted.add(hashed_name)
    wanted -= shared.incident_of.keys()
    if not wanted:
        return
    shared.flush_alerts()  # the lookup reads alerts
    newest = sql.open_incidents_for_groupings(service_id=service.pk, grouping_keys=list(wanted))
    incidents = Incident.objects.in_bulk(set(newest.values()))
    for grouping_key in wanted:
        found = newest.get(grouping_key)
        shared.incident_of[grouping_key] = found
        if found is not None:
            shared.incidents.setdefault(found, incidents[found])


def _process_guarded(row: InboxEvent) -> tuple[str, str]:
    """inbox_process in a savepoint: a failure rolls back the row's effects only and
    makes it `rejected`; a transient database error propagates (the caller rolls back)."""
    try:
        with transaction.atomic():
            return inbox_process(row=row)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        log.exception("inbox row %s could not be processed", row.pk)
        detail = f"could not be processed: {exc.__class__.__name__}: {exc}"[:DETAIL_MAX]
        return Outcome.REJECTED, detail
