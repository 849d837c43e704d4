"""CPU a call of each statement of tocsin.alerts.sql and tocsin.notify.sql against the ORM
query it replaces.

    .venv/bin/python bench/ingest/sql_vs_orm.py [--database-url URL]

A fresh SQLite database in a temporary directory (or the empty database given), one
service, one integration, 200 open alerts; each pair timed alternately (process CPU
time, so other processes on the machine matter less). docs/benchmarks.md quotes it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    os.environ.pop("DATABASE_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    own = tempfile.mkdtemp(prefix="tocsin-sql-")
    os.environ["TOCSIN_DATA_DIR"] = own
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    try:
        return run(args.n)
    finally:
        shutil.rmtree(own, ignore_errors=True)


def run(n: int) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from tocsin.alerts import sql
    from tocsin.alerts.models import Alert, AlertStorm, InboxEvent
    from tocsin.alerts.services import NewAlert, inbox_add
    from tocsin.catalog.models import Integration
    from tocsin.catalog.services import integration_create, service_create
    from tocsin.core.actors import Actor
    from tocsin.core.clock import now
    from tocsin.incidents.models import OPEN_STATUSES, Incident

    call_command("migrate", verbosity=0)
    setup = Actor.system("bench setup")
    service = service_create(name=f"sql-{time.monotonic_ns()}", actor=setup)
    integration, _ = integration_create(service=service, kind="pagerduty", actor=setup)
    integration = Integration.objects.select_related("service").get(pk=integration.pk)
    at = now()

    def new(i: int) -> NewAlert:
        return NewAlert(
            dedup_key=f"k{i}",
            group_key="g",
            grouping_key=f"gk{i % 7}",
            severity="error",
            summary=f"alert {i}",
            source="host",
            details={"i": i, "text": "x" * 40},
            links=[],
            labels={"alertname": "A", "instance": f"i{i}"},
            started_at=at,
        )

    sql.insert_alerts(integration, at, [new(i) for i in range(200)])
    keys = [f"k{i}" for i in range(0, 200, 2)]

    def orm_open() -> object:
        return {
            a.dedup_key: a
            for a in Alert.objects.filter(integration_id=integration.pk, dedup_key__in=keys)
            .exclude(status="resolved")
            .select_related("incident")
        }

    def orm_grouping() -> object:
        first = (
            Alert.objects.filter(
                service=service, grouping_key="gk3", incident__status__in=OPEN_STATUSES
            )
            .order_by("-incident_id")
            .values_list("incident_id", flat=True)
            .first()
        )
        return None if first is None else Incident.objects.get(pk=first)

    grouping_keys = [f"gk{i}" for i in range(10)]

    def orm_groupings() -> object:
        found: dict[str, int] = {}
        for key, incident_id in (
            Alert.objects.filter(
                service=service, grouping_key__in=grouping_keys, incident__status__in=OPEN_STATUSES
            )
            .order_by("grouping_key", "-incident_id")
            .values_list("grouping_key", "incident_id")
        ):
            if incident_id is not None:
                found.setdefault(key, incident_id)
        return found

    since = at - dt.timedelta(days=1)

    def orm_resolved() -> object:
        found: dict[str, dt.datetime] = {}
        for key, started in (
            Alert.objects.filter(
                integration_id=integration.pk,
                dedup_key__in=keys,
                status="resolved",
                resolved_at__gte=since,
            )
            .order_by("dedup_key", "-resolved_at")
            .values_list("dedup_key", "started_at")
        ):
            found.setdefault(key, started)
        return found

    def orm_insert() -> None:
        Alert.objects.bulk_create(
            [
                Alert(
                    integration=integration,
                    service_id=service.pk,
                    first_seen_at=at,
                    last_seen_at=at,
                    dedup_key=f"o{time.monotonic_ns()}-{i}",
                    group_key=a.group_key,
                    grouping_key=a.grouping_key,
                    severity=a.severity,
                    summary=a.summary,
                    source=a.source,
                    details=a.details,
                    links=a.links,
                    labels=a.labels,
                    started_at=a.started_at,
                )
                for i, a in enumerate(new(j) for j in range(100))
            ]
        )

    def sql_insert() -> None:
        alerts = [new(j) for j in range(100)]
        for i, a in enumerate(alerts):
            a.dedup_key = f"s{time.monotonic_ns()}-{i}"
        sql.insert_alerts(integration, at, alerts)

    events = [{"action": "trigger", "dedup_key": "x", "summary": "s", "normalised": True}]

    def sql_inbox() -> None:
        inbox_add(integration=integration, kind="event", received_at=at, events=events)

    def orm_inbox() -> None:
        InboxEvent.objects.create(
            integration=integration, kind="event", received_at=at, events=events
        )

    rows = list(InboxEvent.objects.all()[:1]) or []

    def sql_outcomes() -> None:
        for row in rows:
            row.outcome, row.outcome_detail = "created", "d"
        sql.record_outcomes(rows * 20, at)

    def orm_outcomes() -> None:
        for row in rows * 20:
            InboxEvent.objects.filter(pk=row.pk, state="pending").update(
                state="done", processed_at=at, outcome="created", outcome_detail="d"
            )

    pairs: list[tuple[str, Callable[[], object], Callable[[], object], int]] = [
        (
            "open_alerts_by_key (100 keys)",
            lambda: sql.open_alerts_by_key(integration.pk, keys),
            orm_open,
            n,
        ),
        (
            "open_incident_for_grouping",
            lambda: sql.open_incident_for_grouping(service=service, grouping_key="gk3"),
            orm_grouping,
            n,
        ),
        (
            "open_incidents_for_groupings (10 keys)",
            lambda: sql.open_incidents_for_groupings(
                service_id=service.pk, grouping_keys=grouping_keys
            ),
            orm_groupings,
            n,
        ),
        (
            "last_resolved_start_by_key (100 keys)",
            lambda: sql.last_resolved_start_by_key(integration.pk, keys, since=since),
            orm_resolved,
            n,
        ),
        (
            "open_storm_of (none open)",
            lambda: sql.open_storm_of(service),
            lambda: (
                AlertStorm.objects.filter(service=service, incident__status__in=OPEN_STATUSES)
                .select_related("incident")
                .order_by("-id")
                .first()
            ),
            n,
        ),
        ("insert_alerts (100 alerts)", sql_insert, orm_insert, max(5, n // 20)),
        ("insert_inbox_row", sql_inbox, orm_inbox, n),
    ]
    inbox_add(integration=integration, kind="event", received_at=at, events=events)
    rows[:] = list(InboxEvent.objects.all()[:1])
    pairs.append(("record_outcomes (20 rows)", sql_outcomes, orm_outcomes, max(5, n // 10)))
    pairs.extend(_notify_pairs(n))
    print(f"{connection.vendor}: CPU ms a call, hand-written vs ORM")
    for name, mine, theirs, count in pairs:
        best = {"sql": 1e9, "orm": 1e9}
        for _ in range(3):
            for label, call in (("sql", mine), ("orm", theirs)):
                with transaction.atomic():
                    started = time.process_time()
                    for _ in range(count):
                        call()
                    best[label] = min(best[label], (time.process_time() - started) / count)
        print(
            f"  {name:40s} {best['sql'] * 1000:7.3f} vs {best['orm'] * 1000:7.3f}"
            f"  (saves {(best['orm'] - best['sql']) * 1000:.3f} ms)"
        )
    return 0


def _notify_pairs(n: int) -> list[tuple[str, Callable[[], object], Callable[[], object], int]]:
    """The outbox's statements (tocsin.notify.sql), on a page to a person's webhook."""
    from django.db.models import F, Q

    from tocsin.accounts.models import ContactMethod, Role
    from tocsin.accounts.services import contact_method_add, user_create
    from tocsin.core.actors import Actor
    from tocsin.core.clock import now
    from tocsin.notify import sql as notify_sql
    from tocsin.notify.models import OutboxMessage
    from tocsin.notify.services import outbox_enqueue

    setup = Actor.system("bench setup")
    person = user_create(
        username=f"sql-{time.monotonic_ns()}",
        email="bench@example.com",
        name="Bench",
        role=Role.RESPONDER,
        password="bench-password-unused",
        actor=setup,
    )
    method = contact_method_add(
        user=person, kind="webhook", address="https://hooks.example.com/x", actor=setup
    )
    message = outbox_enqueue(
        channel="webhook",
        recipient="",
        subject="[P1] bench",
        body="a page",
        payload={"priority": 1, "links": {"ack": "https://x/a"}},
        person=person,
        contact_method=method,
        purpose="page",
    )
    at = now()
    lease = at + dt.timedelta(seconds=30)

    def orm_read() -> object:
        return OutboxMessage.objects.select_related("contact_method", "person").get(pk=message.pk)

    # (inside the timing's transaction: the row is due again after each claim's rollback
    # only at the end, so every claim after the first finds nothing, as a lost race does)
    def orm_claim() -> object:
        updated = OutboxMessage.objects.filter(
            pk=message.pk, state="queued", not_before__lte=at
        ).update(state="sending", lease_until=lease, attempts=F("attempts") + 1)
        if not updated:
            return None
        return OutboxMessage.objects.filter(pk=message.pk).values_list("attempts", flat=True)[0]

    def orm_sent() -> object:
        return OutboxMessage.objects.filter(pk=message.pk, state="sending", attempts=1).update(
            state="sent", sent_at=at, lease_until=None, last_error="", provider_message_id="id"
        )

    def orm_stamp() -> object:
        return (
            ContactMethod.objects.filter(pk=method.pk)
            .exclude(
                last_delivery_ok=True,
                last_error="",
                last_delivery_at__gt=at - dt.timedelta(seconds=60),
                last_delivery_at__lte=at,
            )
            .update(last_delivery_at=at, last_delivery_ok=True, last_error="")
        )

    def sql_stamp() -> object:
        since = at - dt.timedelta(seconds=60)
        return notify_sql.stamp_delivery(method.pk, ok=True, error="", at=at, since=since)

    def orm_due() -> object:
        return list(
            OutboxMessage.objects.filter(
                Q(state="queued", not_before__lte=at) | Q(state="sending", lease_until__lt=at)
            )
            .order_by("not_before", "pk")
            .values_list(
                "pk", "channel", "recipient", "contact_method_id", "purpose", "not_before"
            )[:16]
        )

    return [
        ("due_rows (16 rows)", lambda: notify_sql.due_rows(at, 16), orm_due, n),
        (
            "methods_by_id (1 method)",
            lambda: notify_sql.methods_by_id({method.pk}),
            lambda: ContactMethod.objects.in_bulk({method.pk}),
            n,
        ),
        ("message_for_send", lambda: notify_sql.message_for_send(message.pk), orm_read, n),
        ("claim", lambda: notify_sql.claim(message.pk, at, lease), orm_claim, n),
        ("record_sent", lambda: notify_sql.record_sent(message.pk, 1, at, "id"), orm_sent, n),
        ("stamp_delivery", sql_stamp, orm_stamp, n),
        *_lease_pairs(n),
    ]


def _lease_pairs(n: int) -> list[tuple[str, Callable[[], object], Callable[[], object], int]]:
    """The ingest lease's take and release (tocsin.core.leases), as a service's turn does."""
    from django.db.models import Q

    from tocsin.core import leases
    from tocsin.core.clock import now
    from tocsin.core.models import Lease

    at = now()
    until = at + dt.timedelta(seconds=30)
    Lease.objects.create(name="bench", holder="", lease_until=leases.RELEASED)

    def sql_turn() -> object:
        taken = leases.lease_take(name="bench", holder="w", at=at, until=until)
        return taken and leases.lease_release(name="bench", holder="w")

    def orm_turn() -> object:
        seen = Lease.objects.filter(name="bench").values_list("holder", "lease_until").first()
        if seen is not None and seen[0] not in ("", "w") and seen[1] >= at:
            return False
        Lease.objects.filter(name="bench").filter(
            Q(lease_until__lt=at) | Q(holder="w") | Q(holder="")
        ).update(holder="w", lease_until=until)
        return Lease.objects.filter(name="bench", holder="w").update(
            holder="", lease_until=leases.RELEASED
        )

    return [("lease take + release (SQLite's path)", sql_turn, orm_turn, n)]


if __name__ == "__main__":
    sys.exit(main())
