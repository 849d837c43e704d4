"""A batch of a service's rows writes its new alerts and its merges together (issue 7,
point 4), with the same outcomes, ids and order as row by row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tocsin.alerts.engine import LEASE_FOR
from tocsin.alerts.models import Alert
from tocsin.alerts.services import inbox_process_batch
from tocsin.catalog.models import Integration
from tocsin.core.clock import now
from tocsin.core.leases import lease_take

from .helpers import alert_of, drain, outcome, push, trigger

pytestmark = pytest.mark.django_db


def _statements(captured: CaptureQueriesContext, start: str) -> int:
    """Statements (an executemany counts once) that contain `start`."""
    return sum(1 for query in captured.captured_queries if start in query["sql"])


def test_a_batch_opens_every_rows_alert_with_one_insert_and_names_each_in_its_outcome(
    pd: Integration, pd2: Integration
) -> None:
    push(pd, trigger("first", group_key="g"))
    drain()  # the incident the rows below join (none of them opens one)
    incident = alert_of(pd, "first").incident
    assert incident is not None
    rows = [push(pd if n % 2 else pd2, trigger(f"k{n}", group_key="g")) for n in range(6)]
    assert lease_take(name="ingest", holder="w1", at=now(), until=now() + LEASE_FOR)
    with CaptureQueriesContext(connection) as captured:
        done = inbox_process_batch(
            pks=[row.pk for row in rows], lease_name="ingest", holder="w1", lease_for=LEASE_FOR
        )
    assert done == len(rows)
    table = Alert._meta.db_table
    assert _statements(captured, f'INSERT INTO "{table}"') == 1
    alerts = [alert_of(pd if n % 2 else pd2, f"k{n}") for n in range(6)]
    assert [a.pk for a in alerts] == sorted(a.pk for a in alerts)  # in the rows' order
    for row, alert in zip(rows, alerts, strict=True):
        assert outcome(row) == ("created", f"alert #{alert.pk} joined {incident.ref}")
        assert alert.incident_id == incident.pk
        assert alert.first_seen_at == row.received_at
        assert alert.integration_id == row.integration_id


def test_a_batch_of_duplicates_writes_their_occurrences_once(pd: Integration) -> None:
    push(pd, trigger("a"), trigger("b"))
    drain()
    rows = [push(pd, trigger("a" if n % 3 else "b")) for n in range(9)]
    assert lease_take(name="ingest", holder="w1", at=now(), until=now() + LEASE_FOR)
    with CaptureQueriesContext(connection) as captured:
        inbox_process_batch(
            pks=[row.pk for row in rows], lease_name="ingest", holder="w1", lease_for=LEASE_FOR
        )
    table = Alert._meta.db_table
    assert _statements(captured, f'UPDATE "{table}"') == 1  # one executemany
    assert (alert_of(pd, "a").occurrences, alert_of(pd, "b").occurrences) == (7, 4)
    assert outcome(rows[-1]) == ("merged", f"alert #{alert_of(pd, 'a').pk}: occurrence 7")
