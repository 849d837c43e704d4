"""Per-key ingest rate limit: service.ingest_rate_limit accepted requests a minute (off: null).

It counts the integration's own inbox rows of the last 60 seconds, so it holds across any
number of web processes and machines without a cache. Rather than counting every row, it
looks up the N-th newest row of the integration (N = the limit): if that row is younger
than a minute, the key is over its limit. That reads at most N rows through the index on
the integration's foreign key. Approximate under races (two requests may both pass the
last free slot), which is fine for a guard against floods.
"""

from __future__ import annotations

from datetime import timedelta

from tocsin.alerts.models import InboxEvent
from tocsin.catalog.models import Integration
from tocsin.core.clock import now

WINDOW = timedelta(seconds=60)


def retry_after_seconds(integration: Integration) -> int | None:
    """None when the request may go in; else how many seconds to wait before retrying."""
    limit = integration.service.ingest_rate_limit
    if not limit:
        return None
    nth_newest = (
        InboxEvent.objects.filter(integration_id=integration.pk)
        .order_by("-id")
        .values_list("received_at", flat=True)[limit - 1 : limit]
    )
    oldest_in_window = next(iter(nth_newest), None)
    if oldest_in_window is None:
        return None
    age = now() - oldest_in_window
    if age >= WINDOW:
        return None
    return max(1, int((WINDOW - age).total_seconds()) + 1)
