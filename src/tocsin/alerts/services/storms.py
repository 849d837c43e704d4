"""Storm incidents: their title refresh."""

from __future__ import annotations

import datetime as dt

from django.db import (
    transaction,
)

from tocsin.alerts import selectors
from tocsin.alerts.models import (
    AlertStorm,
)
from tocsin.alerts.services._common import STORM_LABELS, STORM_REFRESH, STORM_TOP
from tocsin.core.actors import Actor
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import Incident

# --- storms -------------------------------------------------------------------------


def _top(counts: dict[str, int]) -> str:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:STORM_TOP]
    return ", ".join(f"{value} ({n})" for value, n in ranked)


@transaction.atomic
def storm_refresh(*, storm: AlertStorm, at: dt.datetime) -> bool:
    """Show the storm's alert count and top label values on its incident."""
    incident = Incident.objects.get(pk=storm.incident_id)
    if not incident.is_open:
        return False
    # The claim: a compare-and-set on what this storm showed, so that of two workers
    # refreshing it at once (the drain and the storm_titles module) one updates the title.
    claimed = AlertStorm.objects.filter(
        pk=storm.pk, shown_count=storm.shown_count, shown_at=storm.shown_at
    ).update(shown_count=storm.alert_count, shown_at=at)
    if claimed != 1:
        return False
    service_name = storm.service.name
    count = storm.alert_count
    title = f"Alert storm on {service_name}: {count} alerts"[: incident_services.TITLE_MAX]
    lines = [
        f"More than {storm.service.storm_threshold} incidents a minute were opening for "
        f"{service_name}; since {storm.started_at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC "
        "its new alerts join this incident instead.",
        "",
        f"Alerts: {count}",
    ]
    counts = storm.label_counts if isinstance(storm.label_counts, dict) else {}
    for name in STORM_LABELS:
        if counts.get(name):
            lines.append(f"Top {name}: {_top(counts[name])}")
    incident_services.incident_update(
        incident=incident,
        actor=Actor.system("alert storm"),
        changes={"title": title, "description": "\n".join(lines)},
    )
    storm.shown_count, storm.shown_at = count, at
    return True


def storms_refresh_due(*, at: dt.datetime) -> int:
    """Every open storm whose incident shows an out-of-date count (the storm_titles
    engine module, every tick: one cheap query when there is none)."""
    refreshed = 0
    for pk in selectors.storms_to_refresh(shown_before=at - STORM_REFRESH):
        storm = AlertStorm.objects.select_related("service").get(pk=pk)
        if storm_refresh(storm=storm, at=at):
            refreshed += 1
    return refreshed
