"""The status page's Atom (`/status/feed.atom`) and RSS 2.0 (`/status/feed.rss`) feeds:
one entry per published incident or maintenance (the latest LIST_LIMIT), its public
updates in the entry's text, newest first. Built with Django's feed generator."""

from __future__ import annotations

from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed

from tocsin.comms.public import LIST_LIMIT, EventView, Rendered, Snapshot, base_url


def _link(e: EventView) -> str:
    if e.kind == "incident":
        return f"{base_url()}/status/incidents/{e.id}/"
    return f"{base_url()}/status/#maintenance-{e.id}"


def _text(e: EventView, snap: Snapshot) -> str:
    lines = []
    for u in e.updates:
        when = u.created_at.astimezone(snap.zone).strftime("%d %b %Y %H:%M %Z")
        lines.append(f"{u.status.replace('_', ' ').capitalize()} ({when}): {u.body}")
    if e.kind == "maintenance":
        m = e.obj
        start = m.scheduled_for.astimezone(snap.zone).strftime("%d %b %Y %H:%M %Z")  # type: ignore[union-attr]
        end = m.scheduled_until.astimezone(snap.zone).strftime("%d %b %Y %H:%M %Z")  # type: ignore[union-attr]
        lines.insert(0, f"Scheduled maintenance from {start} to {end}.")
        if getattr(m, "body", ""):
            lines.insert(1, m.body)  # type: ignore[union-attr]
    return "\n\n".join(lines) or e.status_label


def _feed(cls: type[SyndicationFeed], snap: Snapshot) -> Rendered:
    feed = cls(
        title=snap.page.name,
        link=f"{base_url()}/status/",
        description=f"Incidents and maintenance of {snap.page.name}",
        language="en",
        feed_url=f"{base_url()}/status/feed.{'atom' if cls is Atom1Feed else 'rss'}",
        feed_guid=f"{base_url()}/status/",
    )
    events = sorted(
        snap.incidents + snap.maintenances,
        key=lambda e: e.obj.published_at or e.obj.created_at,
        reverse=True,
    )
    for e in events[:LIST_LIMIT]:
        latest = e.updates[0].created_at if e.updates else (e.obj.published_at or e.obj.created_at)
        prefix = "" if e.kind == "incident" else "Maintenance: "
        feed.add_item(
            title=f"{prefix}{e.obj.title} ({e.status_label})",
            link=_link(e),
            description=_text(e, snap),
            unique_id=f"{_link(e)}#{e.kind}-{e.id}",
            unique_id_is_permalink=False,
            pubdate=e.obj.published_at or e.obj.created_at,
            updateddate=latest,
        )
    return Rendered(
        feed.writeString("utf-8").encode(),
        str(getattr(feed, "content_type", "application/xml; charset=utf-8")),
    )


def render_atom(snap: Snapshot, arg: str) -> Rendered:
    return _feed(Atom1Feed, snap)


def render_rss(snap: Snapshot, arg: str) -> Rendered:
    return _feed(Rss201rev2Feed, snap)
