"""Each hand-written statement of tocsin.alerts.sql gives what the ORM query it replaces
gives (on SQLite and on PostgreSQL): the same rows, the same values, the same writes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from tocsin.alerts import sql
from tocsin.alerts.models import Alert, AlertStorm, InboxEvent
from tocsin.alerts.services import NewAlert
from tocsin.catalog.models import Integration, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.prepared import prepared
from tocsin.incidents.models import OPEN_STATUSES, Incident, Source
from tocsin.incidents.services import incident_act, incident_create

from .conftest import START
from .helpers import alert_of, drain, push, resolve, trigger

pytestmark = pytest.mark.django_db


def _values(instance: Any) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@pytest.fixture
def alerts(clock: time_machine.Coordinates, pd: Integration, pd2: Integration) -> None:
    """Open, resolved and reopened alerts on two integrations of one service."""
    for key in ("a", "b", "c", "ü ∑"):
        push(pd, trigger(key, labels={"env": "prod"}, details={"n": 1, "x": [1.5, None]}))
    push(pd2, trigger("a"))
    drain()
    clock.shift(dt.timedelta(minutes=1))
    push(pd, resolve("b"))
    push(pd, resolve("c"))
    drain()
    clock.shift(dt.timedelta(minutes=1))
    push(pd, trigger("c"))  # reopened
    drain()


def test_open_alerts_by_key_is_the_orm_query(alerts: None, pd: Integration) -> None:
    keys = ["a", "b", "c", "ü ∑", "missing", "a"]
    found = sql.open_alerts_by_key(pd.pk, keys)
    expected = {
        alert.dedup_key: alert
        for alert in Alert.objects.filter(integration_id=pd.pk, dedup_key__in=keys)
        .exclude(status="resolved")
        .select_related("incident")
    }
    assert sorted(found) == sorted(expected) == ["a", "c", "ü ∑"]
    for key, alert in found.items():
        assert _values(alert) == _values(expected[key])
        assert _values(alert.incident) == _values(expected[key].incident)  # type: ignore[arg-type]
    assert sql.open_alerts_by_key(pd.pk, []) == {}


def test_open_incident_for_grouping_is_the_orm_query(
    alerts: None, service: Service, pd: Integration, clock: time_machine.Coordinates
) -> None:
    def orm(key: str, since: dt.datetime | None) -> Incident | None:
        found = Alert.objects.filter(
            service=service, grouping_key=key, incident__status__in=OPEN_STATUSES
        )
        if since is not None:
            found = found.filter(incident__reported_at__gte=since)
        first = found.order_by("-incident_id").values_list("incident_id", flat=True).first()
        return None if first is None else Incident.objects.get(pk=first)

    keys = [*Alert.objects.values_list("grouping_key", flat=True).distinct(), "none"]
    # One incident resolved by hand: its alerts no longer group.
    incident_act(
        incident=alert_of(pd, "a").incident,  # type: ignore[arg-type]
        actor=Actor.system("test"),
        action="resolve",
        resolution_code="fixed",
        resolution_notes="by hand",
    )
    for key in keys:
        for since in (None, START, now()):
            got = sql.open_incident_for_grouping(
                service=service, grouping_key=key, started_after=since
            )
            want = orm(key, since)
            assert (got and _values(got)) == (want and _values(want)), (key, since)


def test_open_incidents_for_groupings_is_the_orm_query(
    alerts: None, service: Service, pd: Integration
) -> None:
    def orm(keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for key, incident_id in (
            Alert.objects.filter(
                service=service, grouping_key__in=keys, incident__status__in=OPEN_STATUSES
            )
            .order_by("grouping_key", "-incident_id")
            .values_list("grouping_key", "incident_id")
        ):
            found.setdefault(key, incident_id)
        return found

    keys = [*Alert.objects.values_list("grouping_key", flat=True).distinct(), "none"]
    incident_act(  # one incident resolved by hand: its alerts no longer group
        incident=alert_of(pd, "a").incident,  # type: ignore[arg-type]
        actor=Actor.system("test"),
        action="resolve",
        resolution_code="fixed",
        resolution_notes="by hand",
    )
    want = orm(keys)
    assert sql.open_incidents_for_groupings(service_id=service.pk, grouping_keys=keys) == want
    assert 0 < len(want) < len(keys) - 1  # some keys with an open incident, some without
    other = Service.objects.create(name="Other")
    assert sql.open_incidents_for_groupings(service_id=other.pk, grouping_keys=keys) == {}
    assert sql.open_incidents_for_groupings(service_id=service.pk, grouping_keys=[]) == {}


def test_open_incidents_for_groupings_reads_the_keys_alerts_only_on_sqlite(
    alerts: None, service: Service
) -> None:
    """SQLite has no statistics: the plan must search by grouping key, not read every
    alert of the service (a drain batch of a service with many alerts took 12 ms).
    PostgreSQL plans with statistics: the statement keeps the plain column there."""
    from django.db import connection

    statement = prepared(connection, sql._IncidentsForGroupings)
    if connection.vendor != "sqlite":
        assert "+a." not in statement.head
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN QUERY PLAN " + statement.head + "(%s, %s)" + statement.tail,
            [service.pk, *statement.statuses, "k1", "k2"],
        )
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "grouping_key" in plan, plan


def test_last_resolved_start_by_key_is_the_orm_query(alerts: None, pd: Integration) -> None:
    keys = ["a", "b", "c", "missing"]
    since = START - dt.timedelta(days=1)
    expected: dict[str, dt.datetime] = {}
    for key, started in (
        Alert.objects.filter(
            integration_id=pd.pk, dedup_key__in=keys, status="resolved", resolved_at__gte=since
        )
        .order_by("dedup_key", "-resolved_at")
        .values_list("dedup_key", "started_at")
    ):
        expected.setdefault(key, started)
    assert sql.last_resolved_start_by_key(pd.pk, keys, since=since) == expected
    assert sorted(expected) == ["b", "c"]


def test_insert_alerts_writes_what_bulk_create_writes(
    clock: time_machine.Coordinates, pd: Integration
) -> None:
    incident = incident_create(
        actor=Actor.system("test"), title="t", service=pd.service, source=Source.MONITORING
    )

    def new(key: str) -> NewAlert:
        return NewAlert(
            dedup_key=key,
            group_key="g",
            grouping_key="gk",
            severity="warning",
            summary=f"{key} ü",
            source="host-1",
            details={"big": 2**70, "list": [1, {"x": None}], "ü": "∑"},
            links=[{"href": "https://example.test/", "text": "t"}],
            labels={"env": "prod"},
            started_at=START - dt.timedelta(seconds=5),
            incident_id=incident.pk if key == "x1" else None,
            suppressed_reason="" if key == "x1" else "silence #1",
        )

    mine = [new("x1"), new("x2")]
    sql.insert_alerts(pd, now(), mine)
    orm = Alert.objects.bulk_create(
        [
            Alert(
                integration=pd,
                service_id=pd.service_id,
                first_seen_at=now(),
                last_seen_at=now(),
                group_key=alert.group_key,
                grouping_key=alert.grouping_key,
                severity=alert.severity,
                summary=alert.summary,
                source=alert.source,
                details=alert.details,
                links=alert.links,
                labels=alert.labels,
                started_at=alert.started_at,
                incident_id=alert.incident_id,
                suppressed_reason=alert.suppressed_reason,
                dedup_key=alert.dedup_key + "-orm",
            )
            for alert in mine
        ]
    )
    assert [a.pk for a in mine] == sorted(a.pk for a in mine)  # ids follow the order
    for alert, twin in zip(mine, orm, strict=True):
        stored = _values(Alert.objects.get(pk=alert.pk))
        other = _values(Alert.objects.get(pk=twin.pk))
        for row in (stored, other):
            row.pop("id")
            row["dedup_key"] = row["dedup_key"].removesuffix("-orm")
        assert stored == other


def test_record_outcomes_is_the_orm_update_and_claims_pending_rows_only(
    clock: time_machine.Coordinates, pd: Integration
) -> None:
    rows = [push(pd, trigger(k)) for k in ("a", "b", "c")]
    InboxEvent.objects.filter(pk=rows[2].pk).update(state="done", outcome="created")
    for row in rows:
        row.outcome, row.outcome_detail = "merged", "détail ∑"
    assert sql.record_outcomes(rows, now()) == 2  # the done row is not claimed again
    twin = push(pd, trigger("d"))
    InboxEvent.objects.filter(pk=twin.pk, state="pending").update(
        state="done", processed_at=now(), outcome="merged", outcome_detail="détail ∑"
    )
    fields = ("state", "processed_at", "outcome", "outcome_detail")
    got = [InboxEvent.objects.values(*fields).get(pk=row.pk) for row in rows]
    want = InboxEvent.objects.values(*fields).get(pk=twin.pk)
    assert got[0] == got[1] == want
    assert got[2]["outcome"] == "created"


def test_insert_inbox_row_is_the_orm_create(
    clock: time_machine.Coordinates, pd: Integration
) -> None:
    from tocsin.alerts.services import inbox_add

    events = [trigger("a", details={"big": 2**70, "ü": "∑", "nan": "x"})]
    inbox_add(
        integration=pd,
        kind="event",
        received_at=now(),
        events=events,
        payload='{"a": 1}',
        payload_truncated=True,
        request_id="r1",
    )
    mine = InboxEvent.objects.latest("id")
    orm = InboxEvent.objects.create(
        integration=pd,
        kind="event",
        received_at=now(),
        events=events,
        payload='{"a": 1}',
        payload_truncated=True,
        request_id="r1",
    )
    orm.refresh_from_db()
    assert {**_values(mine), "id": 0} == {**_values(orm), "id": 0}


def test_open_alerts_of_several_integrations_is_the_orm_query_for_each(
    alerts: None, pd: Integration, pd2: Integration
) -> None:
    wanted = {pd.pk: ["a", "c", "zz"], pd2.pk: ["a", "c"]}
    found = sql.open_alerts_of(wanted)
    for integration_id, keys in wanted.items():
        expected = {
            alert.dedup_key: alert.pk
            for alert in Alert.objects.filter(
                integration_id=integration_id, dedup_key__in=keys
            ).exclude(status="resolved")
        }
        got = {key: alert.pk for key, alert in found.get(integration_id, {}).items()}
        assert got == expected
    assert sorted(found[pd2.pk]) == ["a"]  # pd's "c" is not pd2's


def test_update_occurrences_writes_what_bulk_update_writes(
    alerts: None, pd: Integration, pd2: Integration
) -> None:
    mine = [alert_of(pd, "a"), alert_of(pd, "ü ∑")]
    theirs = [alert_of(pd2, "a"), alert_of(pd, "c")]
    later = now() + dt.timedelta(minutes=5, microseconds=7)
    for n, alert in enumerate([*mine, *theirs]):
        alert.occurrences += 3 + n
        alert.last_seen_at = later
    sql.update_occurrences(mine)
    Alert.objects.bulk_update(theirs, ["occurrences", "last_seen_at"])
    for alert in [*mine, *theirs]:
        stored = Alert.objects.get(pk=alert.pk)
        assert (stored.occurrences, stored.last_seen_at) == (alert.occurrences, later)
        assert _values(stored) == _values(alert) | {"last_seen_at": later}
    untouched = Alert.objects.exclude(pk__in=[a.pk for a in [*mine, *theirs]])
    assert all(a.occurrences == 1 for a in untouched)
    sql.update_occurrences([])


def test_insert_alert_groups_keeps_order_across_rows_and_statements(
    clock: time_machine.Coordinates, pd: Integration, pd2: Integration
) -> None:
    """A batch's new alerts of several rows (two integrations, two times of receipt),
    more than one statement holds on SQLite: each stored with its own row's values, ids
    in order."""
    first, later = now(), now() + dt.timedelta(seconds=3)

    def new(key: str) -> NewAlert:
        return NewAlert(
            dedup_key=key,
            group_key="g",
            grouping_key="gk",
            severity="warning",
            summary=key,
            source="",
            details={},
            links=[],
            labels={"n": key},
            started_at=START,
        )

    groups = [
        (pd, first, [new(f"a{n}") for n in range(700)]),
        (pd2, later, []),
        (pd2, later, [new(f"b{n}") for n in range(600)]),
    ]
    sql.insert_alert_groups(groups)
    ids = [alert.pk for _, _, alerts in groups for alert in alerts]
    assert None not in ids and ids == sorted(ids) and len(set(ids)) == 1300
    stored = {a.pk: a for a in Alert.objects.all()}
    for integration, received_at, alerts in groups:
        for alert in alerts:
            found = stored[alert.pk]  # type: ignore[index]
            assert (found.integration_id, found.dedup_key) == (integration.pk, alert.dedup_key)
            assert found.first_seen_at == found.last_seen_at == received_at
            assert found.labels == {"n": alert.dedup_key}


def test_open_storm_of_is_the_orm_query(
    clock: time_machine.Coordinates, pd: Integration, service: Service
) -> None:
    def orm(of: Service) -> AlertStorm | None:
        return (
            AlertStorm.objects.filter(service=of, incident__status__in=OPEN_STATUSES)
            .select_related("incident")
            .order_by("-id")
            .first()
        )

    assert sql.open_storm_of(service) is None and orm(service) is None  # no storm yet
    service.storm_threshold = 2
    service.save()
    for n in range(5):
        push(pd, trigger(f"k{n}"))
    drain()
    found, expected = sql.open_storm_of(service), orm(service)
    assert found is not None and expected is not None
    assert _values(found) == _values(expected)
    assert _values(found.incident) == _values(expected.incident)
    assert found.incident.alert_storm is found  # the one-to-one's other side, as the ORM's
    # its incident resolved: no open storm any more
    incident_act(
        incident=found.incident,
        actor=Actor.system("test"),
        action="resolve",
        resolution_code="fixed",
        resolution_notes="by hand",
    )
    assert sql.open_storm_of(service) is None and orm(service) is None
