"""The status page as Atlassian Statuspage's public API v2 serves it (`/status/api/v2/…`):
the same documents, field names and value sets, so the widgets, dashboards and scripts
written for Statuspage read Tocsin's page (docs/status-page.md, the JSON Schemas in
tests/comms/schemas/).

Ids are strings, as Statuspage's are; times are ISO 8601 in UTC. Fields that Tocsin has
no notion of keep Statuspage's neutral values (`custom_tweet: null`, `start_date: null`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from tocsin.comms.models import Component, PublicUpdate, StatusPage
from tocsin.comms.public import (
    LIST_LIMIT,
    EventView,
    Rendered,
    Renderer,
    Snapshot,
    base_url,
    overall_status,
    worst,
)

PAGE_ID = "tocsin"
JSON = "application/json"


def _time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def page_json(page: StatusPage) -> dict[str, Any]:
    return {
        "id": PAGE_ID,
        "name": page.name,
        "url": base_url() + "/status/",
        "time_zone": page.time_zone or "UTC",
        "updated_at": _time(page.changed_at),
    }


def status_json(snap: Snapshot) -> dict[str, Any]:
    indicator, description = overall_status(snap)
    return {"indicator": indicator, "description": description}


def _component(c: Component, status: str) -> dict[str, Any]:
    return {
        "id": str(c.pk),
        "name": c.name,
        "status": status,
        "created_at": _time(c.created_at),
        "updated_at": _time(c.updated_at),
        "position": c.position,
        "description": c.description or None,
        "showcase": c.showcase,
        "start_date": None,
        "group_id": f"g{c.group_id}" if c.group_id else None,
        "page_id": PAGE_ID,
        "group": False,
        "only_show_if_degraded": c.only_show_if_degraded,
    }


def components_json(snap: Snapshot) -> list[dict[str, Any]]:
    """Groups are components with `group: true` and the ids of their members, as in
    Statuspage; a group's status is the worst of its members'."""
    out: list[dict[str, Any]] = []
    for group_view in snap.groups:
        group = group_view.group
        if group is not None:
            out.append(
                {
                    "id": f"g{group.pk}",
                    "name": group.name,
                    "status": worst(v.status for v in group_view.components),
                    "created_at": _time(group.created_at),
                    "updated_at": _time(group.updated_at),
                    "position": group.position,
                    "description": group.description or None,
                    "showcase": False,
                    "start_date": None,
                    "group_id": None,
                    "page_id": PAGE_ID,
                    "group": True,
                    "only_show_if_degraded": False,
                    "components": [str(v.obj.pk) for v in group_view.components],
                }
            )
        out.extend(_component(v.obj, v.status) for v in group_view.components)
    return out


def _update(u: PublicUpdate, parent_id: str) -> dict[str, Any]:
    affected = [
        {
            "code": str(a.get("code", "")),
            "name": str(a.get("name", "")),
            "old_status": str(a.get("old_status", "")),
            "new_status": str(a.get("new_status", "")),
        }
        for a in (u.affected_components or [])
        if isinstance(a, dict)
    ]
    return {
        "id": str(u.pk),
        "status": u.status,
        "body": u.body,
        "incident_id": parent_id,
        "created_at": _time(u.created_at),
        "updated_at": _time(u.created_at),
        "display_at": _time(u.created_at),
        "affected_components": affected or None,
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def _first_at(e: EventView, status: str) -> dt.datetime | None:
    times = [u.created_at for u in e.updates if u.status == status]
    return min(times) if times else None


def event_json(e: EventView) -> dict[str, Any]:
    obj = e.obj
    ident = str(e.id)
    doc: dict[str, Any] = {
        "id": ident,
        "name": obj.title,
        "status": e.status,
        "created_at": _time(obj.created_at),
        "updated_at": _time(obj.updated_at),
        "monitoring_at": _time(_first_at(e, "monitoring")),
        "resolved_at": None,
        "impact": getattr(obj, "impact", "maintenance"),
        "shortlink": f"{base_url()}/status/incidents/{ident}/",
        "started_at": _time(obj.published_at or obj.created_at),
        "page_id": PAGE_ID,
        "incident_updates": [_update(u, ident) for u in e.updates],
        "components": [_component(c, c.status) for c in e.components],
    }
    if e.kind == "incident":
        doc["resolved_at"] = _time(getattr(obj, "resolved_at", None))
    else:
        doc["id"] = f"m{ident}"
        doc["impact"] = "maintenance"
        doc["shortlink"] = f"{base_url()}/status/#maintenance-{ident}"
        doc["scheduled_for"] = _time(obj.scheduled_for)  # type: ignore[union-attr]
        doc["scheduled_until"] = _time(obj.scheduled_until)  # type: ignore[union-attr]
        doc["resolved_at"] = _time(obj.scheduled_until) if e.status == "completed" else None  # type: ignore[union-attr]
        for update in doc["incident_updates"]:
            update["incident_id"] = doc["id"]
    return doc


def _dump(doc: dict[str, Any]) -> Rendered:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    return Rendered(body, JSON)


def summary(snap: Snapshot, arg: str) -> Rendered:
    return _dump(
        {
            "page": page_json(snap.page),
            "components": components_json(snap),
            "incidents": [event_json(e) for e in snap.unresolved],
            "scheduled_maintenances": [event_json(m) for m in snap.active + snap.upcoming],
            "status": status_json(snap),
        }
    )


def status(snap: Snapshot, arg: str) -> Rendered:
    return _dump({"page": page_json(snap.page), "status": status_json(snap)})


def components(snap: Snapshot, arg: str) -> Rendered:
    return _dump({"page": page_json(snap.page), "components": components_json(snap)})


def incidents(snap: Snapshot, arg: str) -> Rendered:
    latest = snap.incidents[:LIST_LIMIT]  # as Statuspage: the latest 50
    return _dump({"page": page_json(snap.page), "incidents": [event_json(e) for e in latest]})


def incidents_unresolved(snap: Snapshot, arg: str) -> Rendered:
    return _dump(
        {"page": page_json(snap.page), "incidents": [event_json(e) for e in snap.unresolved]}
    )


def maintenances(snap: Snapshot, arg: str) -> Rendered:
    return _dump(
        {
            "page": page_json(snap.page),
            "scheduled_maintenances": [event_json(m) for m in snap.maintenances[:LIST_LIMIT]],
        }
    )


def maintenances_upcoming(snap: Snapshot, arg: str) -> Rendered:
    return _dump(
        {
            "page": page_json(snap.page),
            "scheduled_maintenances": [event_json(m) for m in snap.upcoming],
        }
    )


def maintenances_active(snap: Snapshot, arg: str) -> Rendered:
    return _dump(
        {
            "page": page_json(snap.page),
            "scheduled_maintenances": [event_json(m) for m in snap.active],
        }
    )


# document name (the path under /status/api/v2/) → renderer
DOCUMENTS: dict[str, Renderer] = {
    "summary.json": summary,
    "status.json": status,
    "components.json": components,
    "incidents.json": incidents,
    "incidents/unresolved.json": incidents_unresolved,
    "scheduled-maintenances.json": maintenances,
    "scheduled-maintenances/upcoming.json": maintenances_upcoming,
    "scheduled-maintenances/active.json": maintenances_active,
}
