"""The alerts a row opens (`NewAlert`) and their insert."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import (
    connection,
)

from tocsin.alerts import sql
from tocsin.alerts.models import (
    Alert,
)
from tocsin.catalog.models import Integration


@dataclass(slots=True)
class NewAlert:
    """An alert a row opens, until `flush` inserts it (and sets `pk`).

    Not a model instance: a snapshot opens a hundred at once, and all they need before
    the INSERT is these values. The columns it leaves out are the same for every new
    alert (see `_AlertInsert`).
    """

    dedup_key: str
    group_key: str
    grouping_key: str
    severity: str
    summary: str
    source: str
    details: dict[str, Any]
    links: list[dict[str, Any]]
    labels: dict[str, str]
    started_at: dt.datetime
    incident_id: int | None = None
    suppressed_reason: str = ""
    pk: int | None = None


_NEW_ALERT_VALUES = tuple(name for name in NewAlert.__slots__ if name != "pk")


def _insert_alerts(
    integration: Integration, received_at: dt.datetime, alerts: list[NewAlert]
) -> None:
    """Insert a row's new alerts in one statement (per batch), in order; sets their pk."""
    _insert_alert_groups([(integration, received_at, alerts)])


def _insert_alert_groups(groups: list[tuple[Integration, dt.datetime, list[NewAlert]]]) -> None:
    """Insert the new alerts of several rows (each with its integration and time of
    receipt) together, in order; sets their pk."""
    if not connection.features.can_return_rows_from_bulk_insert:  # SQLite before 3.35
        for integration, received_at, alerts in groups:
            for alert in alerts:
                alert.pk = Alert.objects.create(
                    integration=integration,
                    service_id=integration.service_id,
                    first_seen_at=received_at,
                    last_seen_at=received_at,
                    **{name: getattr(alert, name) for name in _NEW_ALERT_VALUES},
                ).pk
        return
    sql.insert_alert_groups(groups)
