"""What a page says: one subject, one body, one payload that every channel understands.

The payload is the contract with the channel modules (tocsin.notify.channels): `kind`
("page"), `incident` ("INC-42"), `title`, `priority` (1-4), `urgency`, `service`, `via`
(the target that named the person), `level` (1-based), `links` (signed `acknowledge`,
`resolve` and `open` URLs) and `page` (the page's id, which an SMS reply code names).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from tocsin.escalation.links import page_links

# Low urgency may wait for working hours: Monday to Friday, 09:00-17:00 in the person's zone.
WORK_START = dt.time(9)
WORK_END = dt.time(17)


def page_content(*, page: Any, incident: Any) -> tuple[str, str, dict[str, Any]]:
    links = page_links(page.pk)
    service = incident.service.name if incident.service_id else ""
    subject = f"[P{incident.priority}] {incident.ref}: {incident.title}"
    lines = [
        f"{incident.ref} · P{incident.priority}" + (f" · {service}" if service else ""),
        incident.title,
        "",
        f"You are paged via {page.via} (level {page.level + 1}).",
        "",
        f"Acknowledge: {links['acknowledge']}",
        f"Resolve: {links['resolve']}",
        f"Open: {links['open']}",
    ]
    payload = {
        "kind": "page",
        "page": page.pk,
        "incident": incident.ref,
        "title": incident.title,
        "priority": incident.priority,
        "urgency": page.urgency,
        "service": service,
        "via": page.via,
        "level": page.level + 1,
        "links": links,
    }
    return subject[:300], "\n".join(lines), payload


def next_working_moment(at: dt.datetime, time_zone: str) -> dt.datetime:
    """`at` if it falls in the person's working hours, else the next start of them."""
    zone = zoneinfo.ZoneInfo(time_zone)
    local = at.astimezone(zone)
    for days in range(8):
        day = (local + dt.timedelta(days=days)).date()
        if day.weekday() >= 5:
            continue
        start = dt.datetime.combine(day, WORK_START, tzinfo=zone)
        end = dt.datetime.combine(day, WORK_END, tzinfo=zone)
        if local < end:
            return max(at, start.astimezone(dt.UTC))
    return at
